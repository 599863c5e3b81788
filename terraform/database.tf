# Aurora PostgreSQL: one writer and readers spread over the AZs (automatic failover),
# encrypted with the data key, master password generated and rotated by RDS in Secrets
# Manager (never in code or state), IAM authentication on, TLS forced, 14 days of PITR,
# deletion protection and a final snapshot.
module "aurora" {
  #checkov:skip=CKV_TF_1:Registry module pinned by exact version; the registry does not serve commit hashes
  source  = "terraform-aws-modules/rds-aurora/aws"
  version = "9.16.1"

  name           = "${local.name}-pg"
  engine         = "aurora-postgresql"
  engine_version = var.aurora_engine_version
  engine_mode    = "provisioned"
  instance_class = var.aurora_instance_class
  instances = {
    for i in range(var.aurora_instance_count) : "instance-${i + 1}" => {
      availability_zone = local.azs[i % length(local.azs)]
      promotion_tier    = i
    }
  }

  database_name   = "koo"
  master_username = "koo_admin"

  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.data.arn

  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.data.arn
  iam_database_authentication_enabled = true

  vpc_id                 = module.vpc.vpc_id
  create_db_subnet_group = false
  db_subnet_group_name   = module.vpc.database_subnet_group_name
  security_group_rules = {
    eks_nodes = {
      description              = "PostgreSQL from EKS nodes and pods"
      source_security_group_id = module.eks.node_security_group_id
    }
  }

  backup_retention_period      = var.aurora_backup_retention_days
  preferred_backup_window      = "20:30-21:30" # 02:00-03:00 IST
  preferred_maintenance_window = "sun:21:30-sun:22:30"
  copy_tags_to_snapshot        = true
  deletion_protection          = true
  skip_final_snapshot          = false
  apply_immediately            = false
  auto_minor_version_upgrade   = true

  create_db_cluster_parameter_group      = true
  db_cluster_parameter_group_name        = "${local.name}-pg"
  db_cluster_parameter_group_family      = "aurora-postgresql16"
  db_cluster_parameter_group_description = "Koo Aurora PostgreSQL cluster parameters"
  db_cluster_parameter_group_parameters = [
    {
      name         = "rds.force_ssl"
      value        = "1"
      apply_method = "immediate"
    },
    {
      name         = "log_min_duration_statement"
      value        = "500"
      apply_method = "immediate"
    },
    {
      name         = "shared_preload_libraries"
      value        = "pg_stat_statements"
      apply_method = "pending-reboot"
    },
  ]

  enabled_cloudwatch_logs_exports        = ["postgresql"]
  create_cloudwatch_log_group            = true
  cloudwatch_log_group_retention_in_days = var.log_retention_days
  cloudwatch_log_group_kms_key_id        = aws_kms_key.logs.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.data.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  create_monitoring_role                = true
}
