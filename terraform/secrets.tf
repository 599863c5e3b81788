# Secrets Manager entries read by the cluster through External Secrets (mesh/k8s/base/secrets).
# Names are the same in every account (one account per environment): koo/<name>.
#
#   koo/database            host, port, dbname of Aurora (the password is in the RDS-managed
#                           master secret, rotated by RDS: output aurora_master_secret_arn)
#   koo/redis               auth_token (generated here), host, port
#   koo/opensearch          username, password (generated here), endpoint
#   koo/jwt-signing         private_pem: the user service's token signing key   } values put by
#   koo/jwt-public          jwks_json: the public keys (JWKS) every service uses } an operator,
#   koo/service-key         key: the secret behind service tokens (every pod)    }
#   koo/opensearch-logs     endpoint, username, password (generated in observability.tf)
#                                                                                 } never in code
#                                                                                 (docs/deploy.md)
# Automatic rotation: the Aurora master secret is rotated by RDS. The Redis token rotates
# with `auth_token_update_strategy = ROTATE` when random_password.redis_auth is replaced
# (terraform apply -replace); a rotation Lambda for the others is future work, hence the
# CKV2_AWS_57 skips below.

resource "aws_secretsmanager_secret" "database" {
  #checkov:skip=CKV2_AWS_57:Holds only the endpoint (host, port, dbname); the password is in the RDS-managed secret that RDS rotates
  name                    = "${var.project}/database"
  description             = "Aurora endpoint for KOO_DATABASE_URL (the password is in the RDS-managed secret)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "database" {
  secret_id = aws_secretsmanager_secret.database.id
  secret_string = jsonencode({
    host   = module.aurora.cluster_endpoint
    reader = module.aurora.cluster_reader_endpoint
    port   = tostring(module.aurora.cluster_port)
    dbname = "koo"
  })
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:Rotated by replacing random_password.redis_auth (ElastiCache ROTATE strategy keeps old and new tokens valid during the switch)
  name                    = "${var.project}/redis"
  description             = "ElastiCache AUTH token and endpoint (KOO_REDIS_URL, KEDA)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({
    auth_token = random_password.redis_auth.result
    host       = aws_elasticache_replication_group.redis.primary_endpoint_address
    port       = "6379"
  })
}

resource "aws_secretsmanager_secret" "opensearch" {
  #checkov:skip=CKV2_AWS_57:The master user password changes only through the domain's advanced security options (terraform apply with a new random_password)
  name                    = "${var.project}/opensearch"
  description             = "OpenSearch fine-grained-access master user and endpoint (KOO_OPENSEARCH_URL)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "opensearch" {
  secret_id = aws_secretsmanager_secret.opensearch.id
  secret_string = jsonencode({
    username = "koo-admin"
    password = random_password.opensearch_master.result
    endpoint = aws_opensearch_domain.search.endpoint
  })
}

# Secrets whose values an operator puts (docs/deploy.md); Terraform creates them empty.
resource "aws_secretsmanager_secret" "operator" {
  #checkov:skip=CKV2_AWS_57:Key rotation is an operator procedure (new kid in koo/jwt-public first, then the signing key), documented in docs/deploy.md
  for_each = {
    "jwt-signing" = "PEM private key the user service signs access tokens with (property private_pem)"
    "jwt-public"  = "JWKS with the public keys of every valid kid (property jwks_json)"
    "service-key" = "Random key of 32+ bytes behind the service tokens between Koo workloads (property key)"
  }

  name                    = "${var.project}/${each.key}"
  description             = each.value
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}
