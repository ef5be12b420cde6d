terraform {
  # 1.9: validation blocks may refer to other variables.
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81: encryption_configuration of aws_sfn_state_machine.
      version = ">= 5.81, < 7.0"
    }
  }
}
