# --- The staging bucket: normalised gzip CSV files, COPY manifests, reject records --------------

resource "aws_s3_bucket" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  # checkov:skip=CKV_AWS_18:Access logging of a staging bucket is the caller's choice (a logging bucket is account-wide infrastructure, and this pipeline reads one).
  # checkov:skip=CKV_AWS_144:Staged files are transient copies of logs that stay in the log bucket; replicating them buys nothing.
  # checkov:skip=CKV2_AWS_62:Nothing consumes notifications of the staging bucket.
  # checkov:skip=CKV_AWS_145:Encrypted by default with SSE-S3, or SSE-KMS with kms_key_arn when given.
  # checkov:skip=CKV_AWS_21:Staged files are written once, read once by COPY, and expire; versions would only keep copies of expired files.
  bucket        = var.staging_bucket_name
  bucket_prefix = var.staging_bucket_name == null ? "${lower(substr(var.name, 0, 30))}-staging-" : null
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.staging[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  bucket = aws_s3_bucket.staging[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  bucket = aws_s3_bucket.staging[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  bucket = aws_s3_bucket.staging[0].id

  rule {
    id     = "expire-staged-files"
    status = "Enabled"
    filter {
      prefix = var.staging_prefix
    }
    expiration {
      days = var.staging_expiration_days
    }
  }

  rule {
    id     = "expire-rejects"
    status = "Enabled"
    filter {
      prefix = var.rejects_prefix
    }
    expiration {
      days = var.rejects_expiration_days
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

data "aws_iam_policy_document" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.staging[0].arn,
      "${aws_s3_bucket.staging[0].arn}/*",
    ]
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

resource "aws_s3_bucket_policy" "staging" {
  count = var.create_staging_bucket ? 1 : 0

  bucket     = aws_s3_bucket.staging[0].id
  policy     = data.aws_iam_policy_document.staging[0].json
  depends_on = [aws_s3_bucket_public_access_block.staging]
}
