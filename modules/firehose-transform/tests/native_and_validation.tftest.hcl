mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

}

variables {
  name = "app-logs"
}

run "native_processor_has_no_lambda" {
  command = plan

  variables {
    processor = "native"
  }

  assert {
    condition     = length(module.function) == 0 && output.function_arn == null
    error_message = "the native processor creates no Lambda"
  }
  assert {
    condition = [
      for p in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors : p.type
    ] == ["Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]
    error_message = "native processing must decompress, extract messages and add newlines"
  }
  assert {
    condition     = keys(output.alarm_arns) == ["firehose-freshness"]
    error_message = "only the freshness alarm applies without a Lambda"
  }
}

run "lambda_needs_an_image" {
  command = plan

  expect_failures = [var.image_uri]
}

run "native_cannot_write_json" {
  command = plan

  variables {
    processor     = "native"
    output_format = "json"
  }

  expect_failures = [var.output_format]
}

run "prefix_needs_the_date" {
  command = plan

  variables {
    processor = "native"
    prefix    = "logs/"
  }

  expect_failures = [var.prefix]
}

run "existing_bucket_needs_a_name" {
  command = plan

  variables {
    processor     = "native"
    create_bucket = false
  }

  expect_failures = [var.bucket_name]
}

run "existing_bucket" {
  command = plan

  variables {
    processor     = "native"
    create_bucket = false
    bucket_name   = "my-existing-logs"
  }

  assert {
    condition     = length(module.bucket) == 0 && aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].bucket_arn == "arn:aws:s3:::my-existing-logs"
    error_message = "an existing bucket is used as is"
  }
}

run "kms_alias_is_rejected" {
  command = plan

  variables {
    processor   = "native"
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }

  expect_failures = [var.kms_key_arn]
}

run "alarm_actions_are_arns" {
  command = plan

  variables {
    processor     = "native"
    alarm_actions = ["oncall@example.com"]
  }

  expect_failures = [var.alarm_actions]
}
