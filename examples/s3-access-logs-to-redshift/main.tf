# A photo service's bucket -> S3 server access logging -> the log bucket -> s3log-redshift
# (notifications, queue, loader, staging) -> Redshift, through the Data API only.

data "aws_caller_identity" "current" {}

# --- The business bucket whose requests are logged -------------------------------------------

resource "aws_s3_bucket" "photos" {
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision, not part of this example.
  # checkov:skip=CKV2_AWS_62:The example's subject is the bucket's access logs, not its object notifications.
  # checkov:skip=CKV_AWS_145:SSE-S3 keeps the example self-contained; use a customer managed key in production if policy requires it.
  bucket_prefix = "${var.name}-photos-"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "photos" {
  bucket                  = aws_s3_bucket.photos.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "photos" {
  bucket = aws_s3_bucket.photos.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "photos" {
  bucket = aws_s3_bucket.photos.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "photos" {
  bucket = aws_s3_bucket.photos.id
  rule {
    id     = "tidy-versions-and-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.photos]
}

resource "aws_s3_bucket_logging" "photos" {
  bucket        = aws_s3_bucket.photos.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = local.log_prefix

  depends_on = [aws_s3_bucket_policy.logs]
}

# --- The log bucket: where S3 delivers the access logs ---------------------------------------

locals {
  log_prefix = "s3-access/photos/"
}

resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would log forever.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision, not part of this example.
  # checkov:skip=CKV_AWS_145:S3 server access log delivery supports SSE-S3 only on the target bucket.
  # checkov:skip=CKV_AWS_21:Log objects are written once by S3 and never overwritten; they expire after log_retention_days.
  # checkov:skip=CKV2_AWS_62:module.s3log_redshift creates this bucket's notifications (ObjectCreated -> its queue); checkov stops following them into the module once it takes the workgroup resource created here.
  bucket_prefix = "${var.name}-logs-"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {
      prefix = local.log_prefix
    }
    expiration {
      days = var.log_retention_days
    }
  }
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "S3ServerAccessLogsOfThePhotoBucket"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/${local.log_prefix}*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.photos.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.logs.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# --- The pipeline ---------------------------------------------------------------------------------

module "s3log_redshift" {
  source = "../../modules/s3log-redshift"

  name                        = var.name
  image_uri                   = var.image_uris["s3log_redshift"]
  log_bucket_name             = aws_s3_bucket.logs.id
  log_prefix                  = local.log_prefix
  redshift_cluster_identifier = var.redshift_cluster_identifier
  redshift_workgroup_name     = var.redshift_workgroup_name
  redshift_workgroup          = local.create_serverless ? aws_redshiftserverless_workgroup.this[0] : null
  redshift_database           = var.redshift_database
  redshift_secret_arn         = local.create_serverless ? coalesce(var.redshift_secret_arn, aws_redshiftserverless_namespace.this[0].admin_password_secret_arn) : var.redshift_secret_arn
  target_schema               = "photo_service"
  target_table                = "s3_access_log"
  # An example stack: let destroy remove the staged files too.
  force_destroy = true
}

# --- The warehouse: Redshift Serverless, unless an existing cluster or workgroup is named ----------

locals {
  create_serverless = var.redshift_cluster_identifier == null && var.redshift_workgroup_name == null
}

resource "aws_redshiftserverless_namespace" "this" {
  count = local.create_serverless ? 1 : 0
  # checkov:skip=CKV_AWS_282:The namespace is encrypted with the AWS owned key; pass kms_key_id in production if policy requires a customer managed key.

  namespace_name = var.name
  db_name        = var.redshift_database
  admin_username = "admin"
  # Secrets Manager generates, stores and rotates the admin password; the loader reads it from there.
  manage_admin_password = true
  # COPY reads the staged files with this role.
  iam_roles   = [module.s3log_redshift.copy_role_arn]
  log_exports = ["userlog", "connectionlog", "useractivitylog"]
}

resource "aws_redshiftserverless_workgroup" "this" {
  count = local.create_serverless ? 1 : 0

  namespace_name = aws_redshiftserverless_namespace.this[0].namespace_name
  workgroup_name = var.name
  base_capacity  = var.serverless_base_capacity
  # Reached through the Data API only: no public endpoint.
  publicly_accessible = false
  # Idle workgroups cost nothing; this caps what a runaway query can.
  max_capacity = var.serverless_base_capacity * 4
}
