# The module variants the examples do not plan, for tests/test_iam_least_privilege.py: every
# switch that adds, drops or rescopes an IAM statement. Planned against moto (never applied); the
# test copies this folder next to modules/ (as ../../modules).

terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

locals {
  image   = "123456789012.dkr.ecr.us-east-1.amazonaws.com/logpipes:test"
  kms_key = "arn:aws:kms:us-east-1:123456789012:key/0b9a7a57-4c1e-4d21-9b38-3f0f0e9f8a11"
}

# --- firehose-transform: Firehose's native processing into an existing, KMS-encrypted bucket,
# fed by a Kinesis stream.
module "firehose_native_existing_bucket" {
  source = "../../modules/firehose-transform"

  name                      = "iam-fh-native"
  processor                 = "native"
  output_format             = "raw"
  create_bucket             = false
  bucket_name               = "existing-firehose-bucket"
  kms_key_arn               = local.kms_key
  kinesis_source_stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/source"
}

# --- kinesis-kpl: an existing bucket with a KMS key, an encrypted stream.
module "kinesis_kpl_existing_bucket" {
  source = "../../modules/kinesis-kpl"

  name               = "iam-kpl"
  image_uri          = local.image
  create_bucket      = false
  bucket_name        = "existing-kpl-bucket"
  bucket_kms_key_arn = local.kms_key
  kms_key_arn        = local.kms_key
}

# --- s3log-redshift: a provisioned cluster with temporary credentials for a database user, the
# caller's COPY role and staging bucket. (Not Serverless: its workgroup is read by a data source,
# and moto does not implement redshift-serverless.)
module "s3log_redshift_cluster_db_user" {
  source = "../../modules/s3log-redshift"

  name                        = "iam-rs-cluster"
  image_uri                   = local.image
  log_bucket_name             = "existing-access-logs"
  log_prefix                  = "logs/"
  redshift_cluster_identifier = "analytics"
  redshift_db_user            = "loader"
  create_copy_role            = false
  copy_role_arn               = "arn:aws:iam::123456789012:role/redshift-copy"
  create_staging_bucket       = false
  staging_bucket_name         = "existing-staging"
  kms_key_arn                 = local.kms_key
}

# --- es-bulk-loader: an OpenSearch Serverless collection, whole-bucket source, in a VPC, with
# the S3 trigger.
module "es_bulk_loader_serverless_vpc" {
  source = "../../modules/es-bulk-loader"

  name                = "iam-es-aoss"
  image_uri           = local.image
  opensearch_endpoint = "https://abcdefghij0123456789.us-east-1.aoss.amazonaws.com"
  opensearch_arn      = "arn:aws:aoss:us-east-1:123456789012:collection/abcdefghij0123456789"
  source_bucket_name  = "whole-source-bucket"
  source_prefix       = ""
  kms_key_arn         = local.kms_key
  s3_kms_key_arns     = [local.kms_key]
  vpc_config = {
    subnet_ids         = ["subnet-0123456789abcdef0"]
    security_group_ids = ["sg-0123456789abcdef0"]
  }
  s3_trigger = {
    enabled = true
    prefix  = "incoming/"
  }
}

# A domain, separate work and dead-letter buckets, no KMS, no trigger.
module "es_bulk_loader_domain" {
  source = "../../modules/es-bulk-loader"

  name                    = "iam-es-domain"
  image_uri               = local.image
  opensearch_endpoint     = "https://search-logs-abc.us-east-1.es.amazonaws.com"
  opensearch_arn          = "arn:aws:es:us-east-1:123456789012:domain/logs"
  source_bucket_name      = "domain-source-bucket"
  source_prefix           = "raw/"
  work_bucket_name        = "domain-work-bucket"
  dead_letter_bucket_name = "domain-dead-letter-bucket"
}

# --- subscription-filter: each destination type, and the receiving side of cross-account delivery.
module "subscription_lambda" {
  source = "../../modules/subscription-filter"

  name             = "iam-sub-lambda"
  destination_type = "lambda"
  destination_arn  = "arn:aws:lambda:us-east-1:123456789012:function:archiver"
  log_groups       = { "/app/one" = {} }
}

module "subscription_kinesis_cross_account" {
  source = "../../modules/subscription-filter"

  name                     = "iam-sub-kinesis"
  destination_type         = "kinesis"
  destination_arn          = "arn:aws:kinesis:us-east-1:123456789012:stream/logs"
  destination_kms_key_arn  = local.kms_key
  cross_account_sender_ids = ["210987654321"]
}

module "subscription_firehose" {
  source = "../../modules/subscription-filter"

  name             = "iam-sub-firehose"
  destination_type = "firehose"
  destination_arn  = "arn:aws:firehose:us-east-1:123456789012:deliverystream/logs"
  log_groups       = { "/app/two" = {} }
}

# --- efs-archiver: an existing file system with a KMS key (the example creates one).
module "efs_archiver_existing_file_system" {
  source = "../../modules/subscription-filter/modules/efs-archiver"

  name        = "iam-efs-existing"
  image_uri   = local.image
  vpc_id      = "vpc-0123456789abcdef0"
  subnet_ids  = ["subnet-0123456789abcdef0"]
  kms_key_arn = local.kms_key
  existing_file_system = {
    id                = "fs-0123456789abcdef0"
    security_group_id = "sg-0123456789abcdef0"
  }
}
