module "bucket" {
  source = "../private-bucket"
  count  = var.create_bucket ? 1 : 0

  bucket_name   = var.bucket_name
  bucket_prefix = "${lower(substr(var.name, 0, 30))}-"
  kms_key_arn   = var.kms_key_arn
  # A retried batch overwrites its objects: keep the replaced versions for a while, not forever.
  lifecycle_rules = [
    {
      id                                     = "expire-replaced-versions"
      noncurrent_version_expiration_days     = var.noncurrent_version_expiration_days
      abort_incomplete_multipart_upload_days = 7
    },
  ]
  force_destroy = var.force_destroy
  tags          = var.tags
}
