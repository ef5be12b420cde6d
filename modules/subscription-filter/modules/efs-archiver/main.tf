# The EFS archiver: a Lambda function in the caller's VPC that appends CloudWatch Logs
# subscription deliveries to one file per day and log group on an encrypted EFS file system.
# Subscribe log groups to it with the parent module (destination_type = "lambda").

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create_file_system    = var.existing_file_system == null
  file_system_id        = local.create_file_system ? aws_efs_file_system.this[0].id : var.existing_file_system.id
  file_system_arn       = "arn:${data.aws_partition.current.partition}:elasticfilesystem:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:file-system/${local.file_system_id}"
  efs_security_group_id = local.create_file_system ? aws_security_group.efs[0].id : var.existing_file_system.security_group_id

  environment = {
    ARCHIVE_ROOT               = var.mount_path
    ARCHIVE_TIME_ZONE          = var.time_zone
    ARCHIVE_LINE_FORMAT        = var.line_format
    ARCHIVE_LABELS             = jsonencode(var.labels)
    ARCHIVE_SEAL_GRACE_SECONDS = tostring(var.seal_grace_seconds)
  }
}
