module "bucket" {
  source = "../private-bucket"
  count  = var.create_bucket ? 1 : 0

  # Versioned, no lifecycle rules: retention of delivered logs is the caller's policy.
  bucket_name   = var.bucket_name
  bucket_prefix = "${lower(substr(var.name, 0, 30))}-"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy
  tags          = var.tags
}
