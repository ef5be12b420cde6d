mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "logs-bucket", arn = "arn:aws:s3:::logs-bucket" }
  }
}

run "defaults_are_private_encrypted_versioned_and_tls_only" {
  command = apply

  assert {
    condition     = aws_s3_bucket.this.bucket_prefix == "logpipes-" && !aws_s3_bucket.this.force_destroy
    error_message = "A bucket without a name gets a generated name and keeps its objects on destroy."
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "Public access must be blocked in every way."
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled."
  }
  assert {
    condition     = output.sse_algorithm == "AES256" && !one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    error_message = "Without a KMS key the bucket uses SSE-S3."
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.this[0].versioning_configuration).status == "Enabled"
    error_message = "Versioning is on by default."
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this) == 0
    error_message = "No lifecycle configuration without rules."
  }
  assert {
    condition = alltrue([
      one(data.aws_iam_policy_document.this.statement).effect == "Deny",
      one(one(data.aws_iam_policy_document.this.statement).condition).variable == "aws:SecureTransport",
      one(one(data.aws_iam_policy_document.this.statement).condition).values == tolist(["false"]),
      toset(one(data.aws_iam_policy_document.this.statement).resources) == toset(["arn:aws:s3:::logs-bucket", "arn:aws:s3:::logs-bucket/*"]),
    ])
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects."
  }
}

run "kms_key_lifecycle_rules_and_no_versioning" {
  command   = apply
  state_key = "named"

  variables {
    bucket_name = "my-staging"
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    versioning  = false
    lifecycle_rules = [
      { id = "expire-staged", prefix = "staged/", expiration_days = 7 },
      { id = "abort-uploads", abort_incomplete_multipart_upload_days = 1 },
    ]
  }

  assert {
    condition     = aws_s3_bucket.this.bucket == "my-staging"
    error_message = "A given name is used as is."
  }
  assert {
    condition = alltrue([
      output.sse_algorithm == "aws:kms",
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn,
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled,
    ])
    error_message = "With a KMS key the bucket uses SSE-KMS with an S3 bucket key."
  }
  assert {
    condition     = length(aws_s3_bucket_versioning.this) == 0
    error_message = "versioning = false creates no versioning configuration."
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].id == "expire-staged",
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].filter[0].prefix == "staged/",
      aws_s3_bucket_lifecycle_configuration.this[0].rule[0].expiration[0].days == 7,
      length(aws_s3_bucket_lifecycle_configuration.this[0].rule[0].abort_incomplete_multipart_upload) == 0,
      aws_s3_bucket_lifecycle_configuration.this[0].rule[1].abort_incomplete_multipart_upload[0].days_after_initiation == 1,
      length(aws_s3_bucket_lifecycle_configuration.this[0].rule[1].expiration) == 0,
    ])
    error_message = "Each rule filters by its prefix and has only the actions given."
  }
}

run "rejects_a_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "Bad_Name"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_a_bad_kms_key" {
  command = plan
  variables {
    kms_key_arn = "alias/aws/s3"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_zero_days_and_duplicate_rule_ids" {
  command = plan
  variables {
    lifecycle_rules = [
      { id = "a", expiration_days = 0 },
      { id = "a", noncurrent_version_expiration_days = 30 },
    ]
  }
  expect_failures = [var.lifecycle_rules]
}
