output "region" {
  description = "AWS region."
  value       = var.region
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "configure_kubectl" {
  description = "Command that writes the kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "ecr_repository_url" {
  description = "Image repository for the koo image."
  value       = aws_ecr_repository.koo.repository_url
}

output "media_bucket" {
  description = "Media bucket (KOO_S3_BUCKET)."
  value       = aws_s3_bucket.media.id
}

output "media_kms_alias" {
  description = "KMS alias of the media key (KOO_S3_KMS_KEY_ID)."
  value       = aws_kms_alias.media.name
}

output "aurora_endpoint" {
  description = "Aurora writer endpoint."
  value       = module.aurora.cluster_endpoint
}

output "aurora_reader_endpoint" {
  description = "Aurora reader endpoint."
  value       = module.aurora.cluster_reader_endpoint
}

output "aurora_master_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret with the master credentials."
  value       = module.aurora.cluster_master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint (TLS, port 6379)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "observability_endpoint" {
  description = "OpenSearch endpoint for logs and traces (HTTPS, inside the VPC; Dashboards at /_dashboards)."
  value       = aws_opensearch_domain.observability.endpoint
}

output "opensearch_endpoint" {
  description = "OpenSearch domain endpoint (HTTPS, inside the VPC)."
  value       = aws_opensearch_domain.search.endpoint
}

output "external_secrets_role_arn" {
  description = "IAM role for the koo/external-secrets ServiceAccount (IRSA)."
  value       = aws_iam_role.external_secrets.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms."
  value       = aws_sns_topic.alarms.arn
}

output "k8s_config_env" {
  description = "Contents of mesh/k8s/overlays/<env>/aws.env (merged into ConfigMap koo-config)."
  value       = <<-EOT
    AWS_REGION=${var.region}
    KOO_S3_BUCKET=${aws_s3_bucket.media.id}
    KOO_S3_KMS_KEY_ID=${aws_kms_alias.media.name}
  EOT
}

output "k8s_refs_env" {
  description = "Contents of mesh/k8s/overlays/<env>/aws-refs.env (ARNs substituted into the manifests at render time)."
  value       = <<-EOT
    AWS_REGION=${var.region}
    EXTERNAL_SECRETS_ROLE_ARN=${aws_iam_role.external_secrets.arn}
    AURORA_MASTER_SECRET_ARN=${module.aurora.cluster_master_user_secret[0].secret_arn}
  EOT
}
