# The repository root is a valid (empty) root module so that `terraform validate`
# at the top level passes; the modules live under modules/ and the composed
# pipelines under examples/.
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
  }
}
