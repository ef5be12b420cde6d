# CloudWatch Logs -> subscription filters -> archiver Lambda (in a VPC) -> one file per day and
# log group on an encrypted EFS file system, in Tokyo time.

data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394:Only the first two zones are used (count = 2): a zone AWS adds later changes nothing.
  state = "available"
}

resource "aws_vpc" "this" {
  # checkov:skip=CKV2_AWS_11:An example VPC without internet access; production VPCs bring their own flow logs.
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

# No rule at all in the default security group: everything uses its own group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "private" {
  count = 2

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index)
  availability_zone = data.aws_availability_zones.available.names[count.index]
  tags              = { Name = "${var.name}-private-${count.index}" }
}

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_158:The example uses the CloudWatch Logs default encryption; pass a KMS key in production.
  name              = "/logpipes/${var.name}/app"
  retention_in_days = 365
}

resource "aws_cloudwatch_log_group" "audit" {
  # checkov:skip=CKV_AWS_158:The example uses the CloudWatch Logs default encryption; pass a KMS key in production.
  name              = "/logpipes/${var.name}/audit"
  retention_in_days = 365
}

module "archiver" {
  source = "../../modules/subscription-filter/modules/efs-archiver"

  name       = var.name
  image_uri  = var.image_uris["subscription_filter"]
  vpc_id     = aws_vpc.this.id
  subnet_ids = aws_subnet.private[*].id
  time_zone  = var.time_zone
  labels     = { system = "web", env = "example" }

  enable_backup                 = var.enable_backup
  enforce_encryption_in_transit = var.enforce_encryption_in_transit
}

module "subscriptions" {
  source = "../../modules/subscription-filter"

  name             = "${var.name}-to-efs"
  destination_type = "lambda"
  destination_arn  = module.archiver.function_arn
  log_groups = {
    (aws_cloudwatch_log_group.app.name)   = {}
    (aws_cloudwatch_log_group.audit.name) = { filter_pattern = "?ERROR ?WARN ?user=root" }
  }
}
