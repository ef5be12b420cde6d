# terraform test with a mocked AWS provider: what the module would create, and what it refuses.

mock_provider "aws" {
  source = "./tests/mock_aws"

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/archive-cwl" }
  }
  mock_resource "aws_cloudwatch_log_destination" {
    defaults = { arn = "arn:aws:logs:ap-northeast-1:111122223333:destination:archive" }
  }
}

variables {
  name             = "archive"
  destination_type = "lambda"
  destination_arn  = "arn:aws:lambda:ap-northeast-1:111122223333:function:archiver"
  log_groups = {
    "/aws/lambda/orders" = {}
    "/app/payments"      = { filter_pattern = "?ERROR ?WARN" }
  }
}

run "lambda_permission_is_scoped_to_each_log_group" {
  command = apply

  assert {
    condition     = length(aws_lambda_permission.logs) == 2
    error_message = "One invoke permission per log group."
  }
  assert {
    condition     = aws_lambda_permission.logs["/aws/lambda/orders"].source_arn == "arn:aws:logs:ap-northeast-1:111122223333:log-group:/aws/lambda/orders:*"
    error_message = "The permission of /aws/lambda/orders must name that log group only."
  }
  assert {
    condition     = aws_lambda_permission.logs["/app/payments"].source_arn == "arn:aws:logs:ap-northeast-1:111122223333:log-group:/app/payments:*"
    error_message = "The permission of /app/payments must name that log group only."
  }
  assert {
    condition = alltrue([
      for permission in aws_lambda_permission.logs : permission.principal == "logs.amazonaws.com" && permission.source_account == "111122223333" && permission.action == "lambda:InvokeFunction"
    ])
    error_message = "Only CloudWatch Logs of this account may invoke the function."
  }
  assert {
    condition     = aws_lambda_permission.logs["/app/payments"].statement_id != aws_lambda_permission.logs["/aws/lambda/orders"].statement_id
    error_message = "Statement IDs must differ per log group."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.this["/app/payments#0"].filter_pattern == "?ERROR ?WARN" && aws_cloudwatch_log_subscription_filter.this["/aws/lambda/orders#0"].filter_pattern == ""
    error_message = "Each log group keeps its own filter pattern; the default matches everything."
  }
  assert {
    condition     = length(aws_iam_role.logs) == 0 && output.role_arn == null
    error_message = "A Lambda destination needs no role."
  }
}

run "two_filters_on_one_log_group" {
  command = plan

  variables {
    log_groups = { "/app/payments" = { filter_patterns = ["ERROR", "WARN"] } }
  }

  assert {
    condition     = [for key in sort(keys(aws_cloudwatch_log_subscription_filter.this)) : aws_cloudwatch_log_subscription_filter.this[key].name] == ["archive", "archive-2"]
    error_message = "Two filters on one log group need two names."
  }
  assert {
    condition     = length(aws_lambda_permission.logs) == 1
    error_message = "Still one permission per log group."
  }
}

run "at_most_two_filters_per_log_group" {
  command = plan

  variables {
    log_groups = { "/app/payments" = { filter_patterns = ["ERROR", "WARN", "INFO"] } }
  }

  expect_failures = [var.log_groups]
}

run "no_filter_patterns_is_refused" {
  command = plan

  variables {
    log_groups = { "/app/payments" = { filter_patterns = [] } }
  }

  expect_failures = [var.log_groups]
}

run "invalid_log_group_name_is_refused" {
  command = plan

  variables {
    log_groups = { "app payments!" = {} }
  }

  expect_failures = [var.log_groups]
}

run "kinesis_role_puts_into_that_stream_only" {
  command = apply

  variables {
    destination_type        = "kinesis"
    destination_arn         = "arn:aws:kinesis:ap-northeast-1:111122223333:stream/logs"
    destination_kms_key_arn = "arn:aws:kms:ap-northeast-1:111122223333:key/00000000-0000-0000-0000-000000000000"
    log_groups              = { "/app/payments" = { distribution = "Random" } }
  }

  assert {
    condition     = length(aws_lambda_permission.logs) == 0 && length(aws_iam_role.logs) == 1
    error_message = "A stream destination gets a role, no Lambda permission."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.this["/app/payments#0"].role_arn == aws_iam_role.logs[0].arn && aws_cloudwatch_log_subscription_filter.this["/app/payments#0"].distribution == "Random"
    error_message = "The filter uses the created role and the requested distribution."
  }
  assert {
    condition = (
      data.aws_iam_policy_document.logs_put[0].statement[0].actions == toset(["kinesis:PutRecord"]) &&
      data.aws_iam_policy_document.logs_put[0].statement[0].resources == toset(["arn:aws:kinesis:ap-northeast-1:111122223333:stream/logs"])
    )
    error_message = "The role may put records into the destination stream only."
  }
  assert {
    condition     = data.aws_iam_policy_document.logs_put[0].statement[1].actions == toset(["kms:GenerateDataKey"])
    error_message = "With a CMK-encrypted stream, the role may generate data keys with that key."
  }
  assert {
    condition = (
      one(data.aws_iam_policy_document.logs_assume[0].statement[0].principals).identifiers == toset(["logs.amazonaws.com"]) &&
      one(data.aws_iam_policy_document.logs_assume[0].statement[0].condition).variable == "aws:SourceArn" &&
      one(data.aws_iam_policy_document.logs_assume[0].statement[0].condition).values == tolist(["arn:aws:logs:ap-northeast-1:111122223333:*"])
    )
    error_message = "Only CloudWatch Logs of this account and region may assume the role."
  }
}

run "firehose_role_puts_into_that_delivery_stream_only" {
  command = apply

  variables {
    destination_type = "firehose"
    destination_arn  = "arn:aws:firehose:ap-northeast-1:111122223333:deliverystream/logs"
  }

  assert {
    condition = (
      data.aws_iam_policy_document.logs_put[0].statement[0].actions == toset(["firehose:PutRecord", "firehose:PutRecordBatch"]) &&
      data.aws_iam_policy_document.logs_put[0].statement[0].resources == toset(["arn:aws:firehose:ap-northeast-1:111122223333:deliverystream/logs"])
    )
    error_message = "The role may put records into the delivery stream only."
  }
  assert {
    condition     = length(data.aws_iam_policy_document.logs_put[0].statement) == 1
    error_message = "No KMS statement without a key."
  }
  assert {
    condition     = output.role_arn == aws_iam_role.logs[0].arn && length(aws_cloudwatch_log_subscription_filter.this) == 2
    error_message = "The role is an output for composers."
  }
}

run "existing_role_is_used_and_none_created" {
  command = plan

  variables {
    destination_type = "firehose"
    destination_arn  = "arn:aws:firehose:ap-northeast-1:111122223333:deliverystream/logs"
    create_role      = false
    role_arn         = "arn:aws:iam::111122223333:role/existing"
  }

  assert {
    condition     = length(aws_iam_role.logs) == 0 && aws_cloudwatch_log_subscription_filter.this["/app/payments#0"].role_arn == "arn:aws:iam::111122223333:role/existing"
    error_message = "role_arn replaces the created role."
  }
}

run "destination_in_another_region_is_refused" {
  command = plan

  variables {
    destination_type = "kinesis"
    destination_arn  = "arn:aws:kinesis:us-east-1:111122223333:stream/logs"
  }

  expect_failures = [aws_cloudwatch_log_subscription_filter.this]
}

run "arn_must_match_the_destination_type" {
  command = plan

  variables {
    destination_type = "firehose"
    destination_arn  = "arn:aws:kinesis:ap-northeast-1:111122223333:stream/logs"
  }

  expect_failures = [var.destination_arn]
}

run "distribution_only_for_kinesis" {
  command = plan

  variables {
    log_groups = { "/app/payments" = { distribution = "Random" } }
  }

  expect_failures = [var.log_groups]
}

run "cross_account_destination_for_sender_accounts" {
  command = apply

  variables {
    destination_type         = "kinesis"
    destination_arn          = "arn:aws:kinesis:ap-northeast-1:111122223333:stream/central"
    cross_account_sender_ids = ["444455556666"]
    log_groups               = {}
  }

  assert {
    condition     = aws_cloudwatch_log_destination.this[0].target_arn == "arn:aws:kinesis:ap-northeast-1:111122223333:stream/central" && aws_cloudwatch_log_destination.this[0].role_arn == aws_iam_role.logs[0].arn
    error_message = "The destination fronts the stream with the created role."
  }
  assert {
    condition = (
      one(data.aws_iam_policy_document.destination[0].statement[0].principals).identifiers == toset(["444455556666"]) &&
      data.aws_iam_policy_document.destination[0].statement[0].actions == toset(["logs:PutSubscriptionFilter"])
    )
    error_message = "Only the sender accounts may subscribe to the destination."
  }
  assert {
    condition     = one(data.aws_iam_policy_document.logs_assume[0].statement[0].condition).values == tolist(["arn:aws:logs:ap-northeast-1:111122223333:*", "arn:aws:logs:ap-northeast-1:444455556666:*"])
    error_message = "CloudWatch Logs may assume the role on behalf of the sender accounts too."
  }
  assert {
    condition     = output.cloudwatch_logs_destination_arn == aws_cloudwatch_log_destination.this[0].arn
    error_message = "Senders need the destination ARN."
  }
}

run "sender_side_of_cross_account_delivery" {
  command = plan

  variables {
    destination_type = "destination"
    destination_arn  = "arn:aws:logs:ap-northeast-1:999999999999:destination:central"
  }

  assert {
    condition     = length(aws_iam_role.logs) == 0 && length(aws_lambda_permission.logs) == 0 && output.role_arn == null
    error_message = "Subscribing to another account's destination needs neither role nor permission here."
  }
}

run "cross_account_destination_needs_a_stream" {
  command = plan

  variables {
    cross_account_sender_ids = ["444455556666"]
  }

  expect_failures = [var.cross_account_sender_ids]
}

run "no_role_at_all_is_refused" {
  command = plan

  variables {
    destination_type = "firehose"
    destination_arn  = "arn:aws:firehose:ap-northeast-1:111122223333:deliverystream/logs"
    create_role      = false
  }

  expect_failures = [var.create_role]
}

run "role_arn_with_a_created_role_is_ambiguous" {
  command = plan

  variables {
    destination_type = "firehose"
    destination_arn  = "arn:aws:firehose:ap-northeast-1:111122223333:deliverystream/logs"
    role_arn         = "arn:aws:iam::111122223333:role/existing"
  }

  expect_failures = [var.create_role]
}

run "role_path_and_permissions_boundary" {
  command = plan

  variables {
    destination_type     = "kinesis"
    destination_arn      = "arn:aws:kinesis:ap-northeast-1:111122223333:stream/central"
    role_path            = "/logpipes/"
    permissions_boundary = "arn:aws:iam::111122223333:policy/platform-boundary"
  }

  assert {
    condition     = aws_iam_role.logs[0].path == "/logpipes/" && aws_iam_role.logs[0].permissions_boundary == var.permissions_boundary
    error_message = "The role CloudWatch Logs assumes takes the path and the permissions boundary."
  }
}

run "destination_key_must_be_a_key_arn" {
  command = plan

  variables {
    destination_type        = "kinesis"
    destination_arn         = "arn:aws:kinesis:ap-northeast-1:111122223333:stream/central"
    destination_kms_key_arn = "arn:aws:kms:ap-northeast-1:111122223333:alias/aws/kinesis"
  }

  expect_failures = [var.destination_kms_key_arn]
}
