terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.95"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # State in S3 with native locking (Terraform >= 1.10). The bucket is created once by hand
  # (docs/deploy.md, step 1); pass its name at init:
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=ap-south-1"
  # The state holds generated passwords (Redis AUTH token, OpenSearch master password):
  # the bucket is private, versioned and encrypted with KMS, and only admins may read it.
  backend "s3" {
    key          = "koo/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
