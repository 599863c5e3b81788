variable "region" {
  description = "AWS region for every regional resource (Mumbai by default: close to the users)."
  type        = string
  default     = "ap-south-1"
}

variable "availability_zones" {
  description = "Exactly three Availability Zones of the region (pinned, so that the layout never shifts when AWS adds a zone)."
  type        = list(string)
  default     = ["ap-south-1a", "ap-south-1b", "ap-south-1c"]

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Give exactly three Availability Zones."
  }
}

variable "project" {
  description = "Short project name used in resource names and Secrets Manager paths (koo/...)."
  type        = string
  default     = "koo"
}

variable "environment" {
  description = "Environment name (dev, staging, prod). One AWS account per environment."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; /16 leaves room for pod IPs (VPC CNI gives pods VPC addresses)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "kubernetes_version" {
  description = "EKS control plane version (keep .ci/check-infra K8S_VERSION in step)."
  type        = string
  default     = "1.33"
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint (office/VPN egress). Empty list: private endpoint only."
  type        = list(string)
  default     = []
}

variable "system_node_instance_types" {
  description = "Instance types of the ON_DEMAND system node group (operators, Istio, fallback for app pods)."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "system_node_count" {
  description = "Min, desired and max size of the system node group."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = { min = 3, desired = 3, max = 12 }
}

variable "app_node_instance_types" {
  description = "Instance types of the SPOT app node group: several families of the same size so that spot capacity is found."
  type        = list(string)
  default     = ["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge", "c6i.2xlarge"]
}

variable "app_node_count" {
  description = "Min, desired and max size of the SPOT app node group."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = { min = 3, desired = 6, max = 80 }
}

variable "aurora_engine_version" {
  description = "Aurora PostgreSQL engine version."
  type        = string
  default     = "16.6"
}

variable "aurora_instance_class" {
  description = "Instance class of the Aurora writer and readers."
  type        = string
  default     = "db.r7g.xlarge"
}

variable "aurora_instance_count" {
  description = "Number of Aurora instances (one writer, the rest readers), spread over the AZs. At least 2."
  type        = number
  default     = 3

  validation {
    condition     = var.aurora_instance_count >= 2
    error_message = "Aurora needs at least two instances in different AZs."
  }
}

variable "aurora_backup_retention_days" {
  description = "Days of automated Aurora backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "redis_node_type" {
  description = "ElastiCache node type (timelines, counters, rate limits, event streams)."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_replicas" {
  description = "Number of cache nodes in the replication group (1 primary + replicas), one per AZ. At least 2 for automatic failover."
  type        = number
  default     = 3

  validation {
    condition     = var.redis_replicas >= 2
    error_message = "Automatic failover needs at least two nodes."
  }
}

variable "opensearch_instance_type" {
  description = "OpenSearch data node instance type."
  type        = string
  default     = "r6g.large.search"
}

variable "opensearch_instance_count" {
  description = "OpenSearch data nodes (a multiple of 3: one zone each)."
  type        = number
  default     = 3
}

variable "opensearch_volume_gb" {
  description = "EBS gp3 volume per OpenSearch data node, GiB."
  type        = number
  default     = 200
}

variable "observability_instance_type" {
  description = "Data node instance type of the OpenSearch domain for logs and traces."
  type        = string
  default     = "r6g.large.search"
}

variable "observability_instance_count" {
  description = "Data nodes of the logs and traces domain (a multiple of 3: one zone each)."
  type        = number
  default     = 3
}

variable "observability_volume_gb" {
  description = "EBS gp3 volume per data node of the logs and traces domain, GiB."
  type        = number
  default     = 300
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail). Null: no subscription."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of CloudWatch log groups (flow logs, Aurora, Redis, OpenSearch, CloudTrail)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
