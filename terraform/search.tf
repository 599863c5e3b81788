# OpenSearch domain for the search service (KOO_SEARCH_BACKEND=opensearch, opensearch-py;
# the ICU analysis plugin the index templates need is on every Amazon OpenSearch domain): inside the
# VPC (no public endpoint), three zones, dedicated masters, encryption at rest (data key)
# and node to node, HTTPS only with TLS 1.2+, fine-grained access control with an internal
# master user whose password is generated here and kept in Secrets Manager (koo/opensearch).
resource "random_password" "opensearch_master" {
  length           = 32
  special          = true
  override_special = "!#%*()-_=+[]{}:?"
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
  min_special      = 2
}

resource "aws_security_group" "opensearch" {
  name        = "${local.name}-opensearch"
  description = "OpenSearch: HTTPS from EKS nodes and pods only"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description     = "HTTPS from EKS nodes and pods"
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

resource "aws_cloudwatch_log_group" "opensearch" {
  for_each = toset(["application", "index-slow", "search-slow", "audit"])

  name              = "/aws/opensearch/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

data "aws_iam_policy_document" "opensearch_logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for g in aws_cloudwatch_log_group.opensearch : "${g.arn}:*"]

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

resource "aws_cloudwatch_log_resource_policy" "opensearch" {
  policy_name     = "${local.name}-opensearch"
  policy_document = data.aws_iam_policy_document.opensearch_logs.json
}

# Access is decided by fine-grained access control (the master user and the roles it maps);
# the resource policy only admits HTTPS calls from inside the VPC security group.
data "aws_iam_policy_document" "opensearch_access" {
  #checkov:skip=CKV_AWS_283:The domain has no public endpoint (VPC only, security group from EKS nodes) and fine-grained access control authenticates every request; this is AWS's recommended policy for FGAC domains
  statement {
    actions   = ["es:ESHttp*"]
    resources = ["arn:${local.partition}:es:${var.region}:${local.account_id}:domain/${local.name}-search/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_opensearch_domain" "search" {
  domain_name    = "${local.name}-search"
  engine_version = "OpenSearch_2.19"

  cluster_config {
    instance_type            = var.opensearch_instance_type
    instance_count           = var.opensearch_instance_count
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
    volume_size = var.opensearch_volume_gb
  }

  vpc_options {
    subnet_ids         = module.vpc.private_subnets
    security_group_ids = [aws_security_group.opensearch.id]
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
      master_user_name     = "koo-admin"
      master_user_password = random_password.opensearch_master.result
    }
  }

  access_policies = data.aws_iam_policy_document.opensearch_access.json

  log_publishing_options {
    enabled                  = true
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["application"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["index-slow"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["search-slow"].arn
  }
  log_publishing_options {
    enabled                  = true
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch["audit"].arn
  }

  software_update_options {
    auto_software_update_enabled = true
  }

  depends_on = [aws_cloudwatch_log_resource_policy.opensearch]
}
