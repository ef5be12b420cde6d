# --- The staging bucket: normalised gzip CSV files, COPY manifests, reject records --------------

module "staging_bucket" {
  source = "../private-bucket"
  count  = var.create_staging_bucket ? 1 : 0

  bucket_name   = var.staging_bucket_name
  bucket_prefix = "${lower(substr(var.name, 0, 28))}-staging-"
  kms_key_arn   = var.kms_key_arn
  # Staged files are written once, read once by COPY, and expire: versions would only keep copies.
  versioning      = false
  lifecycle_rules = local.staging_lifecycle_rules
  force_destroy   = var.force_destroy
  tags            = var.tags
}

locals {
  staging_lifecycle_rules = [
    { id = "expire-staged-files", prefix = var.staging_prefix, expiration_days = var.staging_expiration_days },
    { id = "expire-rejects", prefix = var.rejects_prefix, expiration_days = var.rejects_expiration_days },
    { id = "abort-incomplete-uploads", abort_incomplete_multipart_upload_days = 1 },
  ]
}
