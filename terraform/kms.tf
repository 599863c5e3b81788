# Customer-managed KMS keys, one per class of data, yearly automatic rotation.
#   data   Aurora storage and master secret, ElastiCache, OpenSearch, Secrets Manager
#   media  the media bucket (the media service's role may use it, nothing else's)
#   logs   CloudTrail, CloudWatch Logs (flow logs, Aurora, Redis, OpenSearch), alarm topic
#   ecr    container images
# The EKS module creates its own key for Kubernetes Secrets envelope encryption.

data "aws_iam_policy_document" "kms_account_admin" {
  #checkov:skip=CKV_AWS_111:Key policy: "*" is the key itself, and the statement delegates to IAM (the AWS default key policy)
  #checkov:skip=CKV_AWS_356:Key policy: "*" is the key itself, not every resource
  #checkov:skip=CKV_AWS_109:Key policy: the account root administers the key through IAM policies (AWS default)
  statement {
    sid       = "AccountAdministersKeyViaIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${local.name}: Aurora, ElastiCache, OpenSearch, Secrets Manager"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_admin.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${local.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

resource "aws_kms_key" "media" {
  description             = "${local.name}: media bucket (SSE-KMS)"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_admin.json
}

resource "aws_kms_alias" "media" {
  name          = "alias/${local.name}-media"
  target_key_id = aws_kms_key.media.key_id
}

resource "aws_kms_key" "ecr" {
  description             = "${local.name}: ECR images"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_admin.json
}

data "aws_iam_policy_document" "kms_logs" {
  #checkov:skip=CKV_AWS_111:Key policy: "*" is the key itself; service principals are limited by encryption-context conditions
  #checkov:skip=CKV_AWS_356:Key policy: "*" is the key itself, not every resource
  source_policy_documents = [data.aws_iam_policy_document.kms_account_admin.json]

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "CloudTrailEncrypt"
    actions   = ["kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"]
    }
  }

  statement {
    sid       = "AlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${local.name}: CloudTrail, CloudWatch Logs, alarm topic"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_logs.json
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${local.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}
