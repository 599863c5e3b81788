# Koo on AWS: one root module per AWS account (one account per environment).
#   network.tf     VPC over 3 AZs, private subnets, NAT per AZ, flow logs, S3 endpoint
#   kms.tf         customer-managed keys (rotation on) per data class
#   eks.tf         EKS with a system ON_DEMAND and an app SPOT managed node group
#   database.tf    Aurora PostgreSQL
#   cache.tf       ElastiCache Redis replication group
#   search.tf      OpenSearch domain in the VPC (search service)
#   observability.tf  OpenSearch domain for logs and traces (OpenTelemetry Collector)
#   storage.tf     media bucket, log buckets, ECR repository
#   secrets.tf     Secrets Manager entries the cluster reads (External Secrets)
#   iam.tf         IRSA role for External Secrets, EKS Pod Identity roles per service
#   security.tf    CloudTrail, GuardDuty, AWS Config
#   monitoring.tf  SNS alarm topic and CloudWatch alarms
# `terraform validate` needs the providers and modules from the Terraform registry; CI here
# runs terraform fmt and checkov only (.ci/check-infra).

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = var.availability_zones

  # Kubernetes namespace and service accounts of the workloads (mesh/k8s).
  k8s_namespace = "koo"

  tags = merge({
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "koo"
  }, var.tags)
}
