# OpenSearch domain for logs and traces (the OpenTelemetry Collector in mesh/otel writes to
# it; OpenSearch Dashboards, built into the domain, replaces Kibana). The same engine as
# search (search.tf), so one client, one set of skills and one AWS-managed service to run,
# but its own domain: log ingestion bursts never slow SearchPosts, and the two are sized
# and kept (retention) apart. Same protections as the search domain: VPC only, three
# zones, dedicated masters, encryption at rest and node to node, TLS 1.2+, fine-grained
# access control with a generated master user kept in Secrets Manager (koo/opensearch-logs).
resource "random_password" "observability_master" {
  length           = 32
  special          = true
  override_special = "!#%*()-_=+[]{}:?"
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
  min_special      = 2
}

resource "aws_security_group" "observability" {
  name        = "${local.name}-observability"
  description = "OpenSearch for logs and traces: HTTPS from EKS nodes and pods only"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description     = "HTTPS from EKS nodes and pods (the OpenTelemetry Collector)"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = [module.eks.node_security_group_id]
  }

  egress {
    description = "Inside the VPC"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_cloudwatch_log_group" "observability" {
  for_each = toset(["application", "index-slow", "search-slow", "audit"])

  name              = "/aws/opensearch/${local.name}-observability/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

data "aws_iam_policy_document" "observability_logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for g in aws_cloudwatch_log_group.observability : "${g.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "observability" {
  policy_name     = "${local.name}-observability"
  policy_document = data.aws_iam_policy_document.observability_logs.json
}

data "aws_iam_policy_document" "observability_access" {
  #checkov:skip=CKV_AWS_283:The domain has no public endpoint (VPC only, security group from EKS nodes) and fine-grained access control authenticates every request; this is AWS's recommended policy for FGAC domains
  statement {
    actions   = ["es:ESHttp*"]
    resources = ["arn:${local.partition}:es:${var.region}:${local.account_id}:domain/${local.name}-obs/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_opensearch_domain" "observability" {
  domain_name    = "${local.name}-obs"
  engine_version = "OpenSearch_2.19"

  cluster_config {
    instance_type            = var.observability_instance_type
    instance_count           = var.observability_instance_count
    zone_awareness_enabled   = true
    dedicated_master_enabled = true
    dedicated_master_type    = "m6g.large.search"
    dedicated_master_count   = 3

    zone_awareness_config {
      availability_zone_count = 3
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.observability_volume_gb
  }

  vpc_options {
    subnet_ids         = module.vpc.private_subnets
    security_group_ids = [aws_security_group.observability.id]
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.data.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = true

    master_user_options {
      master_user_name     = "koo-otel"
      master_user_password = random_password.observability_master.result
    }
  }

  access_policies = data.aws_iam_policy_document.observability_access.json

  log_publishing_options {
    enabled                  = true
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.observability["application"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.observability["index-slow"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.observability["search-slow"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.observability["audit"].arn
  }

  software_update_options {
    auto_software_update_enabled = true
  }

  depends_on = [aws_cloudwatch_log_resource_policy.observability]
}

resource "aws_secretsmanager_secret" "opensearch_logs" {
  #checkov:skip=CKV2_AWS_57:The master user password changes only through the domain's advanced security options (terraform apply with a new random_password)
  name                    = "${var.project}/opensearch-logs"
  description             = "OpenSearch for logs and traces: collector user and endpoint (mesh/otel)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "opensearch_logs" {
  secret_id = aws_secretsmanager_secret.opensearch_logs.id
  secret_string = jsonencode({
    username = "koo-otel"
    password = random_password.observability_master.result
    endpoint = "https://${aws_opensearch_domain.observability.endpoint}:443"
  })
}

resource "aws_cloudwatch_metric_alarm" "observability_red" {
  alarm_name          = "${local.name}-observability-cluster-red"
  alarm_description   = "Logs and traces OpenSearch cluster status red: a primary shard is unassigned, telemetry for it is lost"
  namespace           = "AWS/ES"
  metric_name         = "ClusterStatus.red"
  dimensions          = { DomainName = aws_opensearch_domain.observability.domain_name, ClientId = local.account_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
