# VPC over three AZs: public subnets (load balancers, NAT), private subnets (EKS nodes and
# pods), database subnets (Aurora) and ElastiCache subnets, all private ones without a route
# from the internet. One NAT gateway per AZ so that losing an AZ does not cut egress for the
# other two.
module "vpc" {
  #checkov:skip=CKV_TF_1:Registry module pinned by exact version; the registry does not serve commit hashes
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.21.0"

  name = local.name
  cidr = var.vpc_cidr
  azs  = local.azs

  # /19 per AZ for nodes and pods (8k addresses each), /24s for the rest.
  private_subnets     = [for i in range(3) : cidrsubnet(var.vpc_cidr, 3, i)]
  public_subnets      = [for i in range(3) : cidrsubnet(var.vpc_cidr, 8, 96 + i)]
  database_subnets    = [for i in range(3) : cidrsubnet(var.vpc_cidr, 8, 104 + i)]
  elasticache_subnets = [for i in range(3) : cidrsubnet(var.vpc_cidr, 8, 112 + i)]

  create_database_subnet_group    = true
  create_elasticache_subnet_group = true

  enable_nat_gateway     = true
  single_nat_gateway     = false
  one_nat_gateway_per_az = true

  enable_dns_hostnames = true
  enable_dns_support   = true

  map_public_ip_on_launch        = false
  manage_default_security_group  = true
  default_security_group_ingress = []
  default_security_group_egress  = []

  enable_flow_log                                 = true
  create_flow_log_cloudwatch_log_group            = true
  create_flow_log_cloudwatch_iam_role             = true
  flow_log_max_aggregation_interval               = 60
  flow_log_cloudwatch_log_group_retention_in_days = var.log_retention_days
  flow_log_cloudwatch_log_group_kms_key_id        = aws_kms_key.logs.arn

  public_subnet_tags = {
    "kubernetes.io/role/elb" = 1
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = 1
    "karpenter.sh/discovery"          = local.name
  }
}

# Media and ECR layer traffic to S3 stays on the AWS network (and off the NAT bill).
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = module.vpc.vpc_id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = module.vpc.private_route_table_ids

  tags = { Name = "${local.name}-s3" }
}
