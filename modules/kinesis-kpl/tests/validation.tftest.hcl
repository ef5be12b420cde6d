mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"
}

variables {
  name      = "web-logs"
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/kinesis_kpl:0123456789abcdef01234567"
}

run "on_demand_takes_no_shard_count" {
  command = plan

  variables {
    shard_count = 2
  }

  expect_failures = [var.shard_count]
}

run "provisioned_needs_a_shard_count" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
  }

  expect_failures = [var.shard_count]
}

run "prefixes_must_not_overlap" {
  command = plan

  variables {
    prefix             = "logs/"
    dead_letter_prefix = "logs/dead/"
  }

  expect_failures = [var.dead_letter_prefix]
}

run "prefix_ends_with_a_slash" {
  command = plan

  variables {
    prefix = "apache"
  }

  expect_failures = [var.prefix]
}

run "existing_bucket_needs_a_name" {
  command = plan

  variables {
    create_bucket = false
  }

  expect_failures = [var.bucket_name]
}

run "record_age_is_at_least_a_minute" {
  command = plan

  variables {
    maximum_record_age_in_seconds = 30
  }

  expect_failures = [var.maximum_record_age_in_seconds]
}

run "gzip_level_is_1_to_3" {
  command = plan

  variables {
    gzip_level = 0
  }

  expect_failures = [var.gzip_level]
}

run "gzip_level_above_isa_l_range_is_rejected" {
  command = plan

  variables {
    gzip_level = 6
  }

  expect_failures = [var.gzip_level]
}

run "failed_batches_destination_is_s3_or_sqs" {
  command = plan

  variables {
    failed_batches_destination = "sns"
  }

  expect_failures = [var.failed_batches_destination]
}

run "prefix_must_not_overlap_the_failed_batches" {
  command = plan

  variables {
    prefix = "aws/"
  }

  expect_failures = [var.failed_batches_destination]
}

run "kms_alias_is_rejected" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }

  expect_failures = [var.kms_key_arn]
}
