# S3 server access logs -> (ObjectCreated notifications) -> SQS (+ dead-letter queue) -> loader
# Lambda -> gzip CSV staged in S3 -> one Redshift Data API transaction per batch (COPY into a temp
# table, insert new rows, record the objects in a ledger). No VPC access and no public endpoint:
# the Data API is the only way in.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# The Data API authorises Serverless calls on the workgroup ARN, which holds the workgroup's id.
data "aws_redshiftserverless_workgroup" "this" {
  count = var.redshift_workgroup_name == null ? 0 : 1

  workgroup_name = var.redshift_workgroup_name
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  lambda_name = "${var.name}-loader"

  log_bucket_arn = "arn:${local.partition}:s3:::${var.log_bucket_name}"

  staging_bucket_name = var.create_staging_bucket ? module.staging_bucket[0].id : var.staging_bucket_name
  staging_bucket_arn  = "arn:${local.partition}:s3:::${local.staging_bucket_name}"

  ledger_table = coalesce(var.ledger_table, "${var.target_table}_ledger")

  # From the cluster identifier (the validation allows exactly one target): a workgroup created in
  # the same configuration may associate copy_role_arn with its namespace without a cycle.
  is_serverless  = var.redshift_cluster_identifier == null
  cluster_arn    = local.is_serverless ? null : "arn:${local.partition}:redshift:${local.region}:${local.account_id}:cluster:${var.redshift_cluster_identifier}"
  workgroup_name = var.redshift_workgroup != null ? var.redshift_workgroup.workgroup_name : var.redshift_workgroup_name
  workgroup_arn  = var.redshift_workgroup != null ? var.redshift_workgroup.arn : (var.redshift_workgroup_name != null ? data.aws_redshiftserverless_workgroup.this[0].arn : null)
  # How the loader gets database credentials: a secret, temporary credentials for a named user
  # (clusters), or temporary credentials for its own IAM identity.
  auth_mode = var.redshift_secret_arn != null ? "secret" : (var.redshift_db_user != null ? "db_user" : "iam")

  copy_role_arn = var.create_copy_role ? aws_iam_role.copy[0].arn : var.copy_role_arn

  # Lambda's guidance for SQS sources: at least six times the function timeout, plus the window.
  visibility_timeout_seconds = var.timeout * 6 + var.maximum_batching_window_in_seconds
}
