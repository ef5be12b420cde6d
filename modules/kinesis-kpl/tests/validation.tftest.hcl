mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
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

run "image_uri_needs_a_tag_or_digest" {
  command = plan

  variables {
    image_uri = "logpipes/kinesis_kpl"
  }

  expect_failures = [var.image_uri]
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
