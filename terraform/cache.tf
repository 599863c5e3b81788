# ElastiCache Redis: a replication group with one node per AZ, automatic failover, Multi-AZ,
# encryption at rest (data key) and in transit (TLS required), an AUTH token generated here
# and kept in Secrets Manager (koo/redis, secrets.tf), daily snapshots.
# Eviction: volatile-lru evicts only keys with a TTL (timelines of inactive users, caches);
# event streams and counters have none and are never evicted. The memory alarm
# (monitoring.tf) fires well before the limit.
resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "ElastiCache Redis: TLS port from EKS nodes and pods only"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description     = "Redis TLS from EKS nodes and pods"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [module.eks.node_security_group_id]
  }

  egress {
    description = "Replication inside the VPC"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_elasticache_parameter_group" "redis" {
  name        = "${local.name}-redis7"
  family      = "redis7"
  description = "Koo: evict only keys with a TTL, compact timelines"

  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  # Home timelines are sorted sets capped at 800 entries: kept in the compact listpack
  # encoding (~12 bytes an entry instead of ~80 in a skiplist), about 7x less memory for
  # the largest data set in Redis; inserts stay cheap at this size (docs/deploy.md).
  parameter {
    name  = "zset-max-listpack-entries"
    value = "1024"
  }
}

resource "aws_cloudwatch_log_group" "redis_slow" {
  name              = "/aws/elasticache/${local.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${local.name}-redis"
  description          = "Koo timelines, counters, rate limits and event streams"

  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  num_cache_clusters   = var.redis_replicas

  subnet_group_name           = module.vpc.elasticache_subnet_group_name
  preferred_cache_cluster_azs = [for i in range(var.redis_replicas) : local.azs[i % length(local.azs)]]
  security_group_ids          = [aws_security_group.redis.id]

  automatic_failover_enabled = true
  multi_az_enabled           = true

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = random_password.redis_auth.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 7
  snapshot_window            = "19:30-20:30"
  maintenance_window         = "sun:22:30-sun:23:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis_slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
