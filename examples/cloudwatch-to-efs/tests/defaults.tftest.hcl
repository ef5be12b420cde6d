# The example in an empty account: only image_uris given, it creates its own VPC, EFS and archiver.
mock_provider "aws" {
  source = "../../modules/subscription-filter/tests/mock_aws"

  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
}

variables {
  image_uris = { subscription_filter = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/subscription_filter:abc123" }
}

run "empty_account_defaults_plan" {
  command = plan

  assert {
    condition     = aws_vpc.this.cidr_block == "10.42.0.0/16" && length(aws_subnet.private) == 2
    error_message = "the example must bring its own VPC with two private subnets (nothing pre-existing)"
  }
  assert {
    condition     = toset([for s in aws_subnet.private : s.availability_zone]) == toset(["eu-west-1a", "eu-west-1b"])
    error_message = "the subnets must be in two availability zones"
  }
  assert {
    condition     = aws_cloudwatch_log_group.app.name == "/logpipes/efs-archive/app" && aws_cloudwatch_log_group.audit.name == "/logpipes/efs-archive/audit"
    error_message = "the example must create the two subscribed log groups"
  }
}
