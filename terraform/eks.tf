# EKS: a private control plane endpoint (public only from the CIDRs given), audit logs,
# envelope encryption of Secrets, and two managed node groups:
#   system  ON_DEMAND, untainted: operators (Istio, KEDA, External Secrets), CoreDNS, the
#           OpenTelemetry collector, and the fallback for app pods when spot is short
#   app     SPOT over several instance families, tainted koo.io/capacity-type=spot:NoSchedule:
#           only the stateless Koo pods (which tolerate it and prefer it) run there
# Add-ons: VPC CNI with network policy enforcement, CoreDNS, kube-proxy, EKS Pod Identity.
module "eks" {
  #checkov:skip=CKV_TF_1:Registry module pinned by exact version; the registry does not serve commit hashes
  source  = "terraform-aws-modules/eks/aws"
  version = "20.37.2"

  cluster_name    = local.name
  cluster_version = var.kubernetes_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  cluster_endpoint_private_access      = true
  cluster_endpoint_public_access       = length(var.cluster_endpoint_public_access_cidrs) > 0
  cluster_endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  enable_cluster_creator_admin_permissions = true
  authentication_mode                      = "API"

  cluster_enabled_log_types              = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = var.log_retention_days
  cloudwatch_log_group_kms_key_id        = aws_kms_key.logs.arn

  # IRSA (External Secrets) needs the OIDC provider; the services use EKS Pod Identity.
  enable_irsa = true

  cluster_addons = {
    vpc-cni = {
      most_recent    = true
      before_compute = true
      configuration_values = jsonencode({
        enableNetworkPolicy = "true"
      })
    }
    coredns = {
      most_recent = true
    }
    kube-proxy = {
      most_recent = true
    }
    eks-pod-identity-agent = {
      most_recent    = true
      before_compute = true
    }
  }

  eks_managed_node_group_defaults = {
    ami_type = "AL2023_x86_64_STANDARD"
    block_device_mappings = {
      xvda = {
        device_name = "/dev/xvda"
        ebs = {
          volume_size           = 80
          volume_type           = "gp3"
          encrypted             = true
          delete_on_termination = true
        }
      }
    }
    metadata_options = {
      http_endpoint               = "enabled"
      http_tokens                 = "required"
      http_put_response_hop_limit = 1
    }
  }

  eks_managed_node_groups = {
    system = {
      capacity_type  = "ON_DEMAND"
      instance_types = var.system_node_instance_types
      min_size       = var.system_node_count.min
      desired_size   = var.system_node_count.desired
      max_size       = var.system_node_count.max
      labels = {
        "koo.io/pool" = "system"
      }
    }

    app = {
      capacity_type  = "SPOT"
      instance_types = var.app_node_instance_types
      min_size       = var.app_node_count.min
      desired_size   = var.app_node_count.desired
      max_size       = var.app_node_count.max
      labels = {
        "koo.io/pool" = "app"
      }
      taints = {
        spot = {
          key    = "koo.io/capacity-type"
          value  = "spot"
          effect = "NO_SCHEDULE"
        }
      }
    }
  }

  node_security_group_additional_rules = {
    # Istio: istiod's sidecar-injection webhook and the ingress gateway reach pods on
    # these ports from the control plane and other nodes.
    ingress_istio_webhook = {
      description                   = "EKS control plane to istiod webhook"
      protocol                      = "tcp"
      from_port                     = 15017
      to_port                       = 15017
      type                          = "ingress"
      source_cluster_security_group = true
    }
  }
}
