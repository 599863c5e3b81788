# Who may do what in AWS, per workload (least privilege):
#   external-secrets (IRSA)   read the koo/* secrets and the Aurora master secret, nothing else
#   media, media-worker       (EKS Pod Identity) the media bucket and its KMS key, nothing else
#   user                      (EKS Pod Identity) read its own secret koo/jwt-signing
#   every other workload      no AWS permissions at all (no role, no S3)

locals {
  eso_service_account = "external-secrets"
  media_service_accounts = {
    media        = "media"
    media-worker = "media-worker"
  }
}

# ---------------------------------------------------------------------------- External Secrets (IRSA)
data "aws_iam_policy_document" "eso_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:${local.k8s_namespace}:${local.eso_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "external_secrets" {
  name                 = "${local.name}-external-secrets"
  description          = "External Secrets Operator (SecretStore koo/aws-secrets-manager): read Koo's secrets"
  assume_role_policy   = data.aws_iam_policy_document.eso_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid     = "ReadKooSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat(
      [
        aws_secretsmanager_secret.database.arn,
        aws_secretsmanager_secret.redis.arn,
        aws_secretsmanager_secret.opensearch.arn,
        aws_secretsmanager_secret.opensearch_logs.arn,
        module.aurora.cluster_master_user_secret[0].secret_arn,
      ],
      [for s in aws_secretsmanager_secret.operator : s.arn],
    )
  }

  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  name   = "read-koo-secrets"
  role   = aws_iam_role.external_secrets.id
  policy = data.aws_iam_policy_document.external_secrets.json
}

# ---------------------------------------------------------------------------- EKS Pod Identity
data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "media" {
  name                 = "${local.name}-media"
  description          = "Koo media service and media-worker: the media bucket and its key"
  assume_role_policy   = data.aws_iam_policy_document.pod_identity_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "media" {
  statement {
    sid       = "MediaObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }

  statement {
    sid       = "MediaBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.media.arn]
  }

  statement {
    sid       = "MediaKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.media.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "media" {
  name   = "media-bucket"
  role   = aws_iam_role.media.id
  policy = data.aws_iam_policy_document.media.json
}

resource "aws_eks_pod_identity_association" "media" {
  for_each = local.media_service_accounts

  cluster_name    = module.eks.cluster_name
  namespace       = local.k8s_namespace
  service_account = each.value
  role_arn        = aws_iam_role.media.arn
}

resource "aws_iam_role" "user" {
  name                 = "${local.name}-user"
  description          = "Koo user service: read its token signing key"
  assume_role_policy   = data.aws_iam_policy_document.pod_identity_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "user" {
  statement {
    sid       = "SigningKey"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.operator["jwt-signing"].arn]
  }

  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "user" {
  name   = "jwt-signing-key"
  role   = aws_iam_role.user.id
  policy = data.aws_iam_policy_document.user.json
}

resource "aws_eks_pod_identity_association" "user" {
  cluster_name    = module.eks.cluster_name
  namespace       = local.k8s_namespace
  service_account = "user"
  role_arn        = aws_iam_role.user.arn
}
