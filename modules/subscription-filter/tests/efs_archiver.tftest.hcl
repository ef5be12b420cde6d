# terraform test of the efs-archiver sub-module with a mocked AWS provider.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/archiver" }
  }
  mock_resource "aws_efs_file_system" {
    defaults = { id = "fs-0123456789abcdef0", arn = "arn:aws:elasticfilesystem:ap-northeast-1:111122223333:file-system/fs-0123456789abcdef0" }
  }
  mock_resource "aws_efs_access_point" {
    defaults = { arn = "arn:aws:elasticfilesystem:ap-northeast-1:111122223333:access-point/fsap-0123456789abcdef0" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:ap-northeast-1:111122223333:archiver-failures" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:ap-northeast-1:111122223333:log-group:/aws/lambda/archiver" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:ap-northeast-1:111122223333:function:archiver" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:ap-northeast-1:111122223333:rule/archiver-seal" }
  }
}

variables {
  name       = "archiver"
  image_uri  = "111122223333.dkr.ecr.ap-northeast-1.amazonaws.com/logpipes/subscription_filter@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  vpc_id     = "vpc-0123456789abcdef0"
  subnet_ids = ["subnet-0a0a0a0a0a0a0a0a0", "subnet-0b0b0b0b0b0b0b0b0"]
  time_zone  = "Asia/Tokyo"
  labels     = { system = "billing", env = "prod" }
}

run "nfs_only_between_the_function_and_the_file_system" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.efs_from_lambda.security_group_id == aws_security_group.efs[0].id &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.referenced_security_group_id == aws_security_group.lambda.id &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.cidr_ipv6 == null &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.ip_protocol == "tcp" &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.from_port == 2049 &&
      aws_vpc_security_group_ingress_rule.efs_from_lambda.to_port == 2049
    )
    error_message = "The file system accepts NFS (TCP 2049) from the function's security group only."
  }
  assert {
    condition = (
      aws_vpc_security_group_egress_rule.lambda_to_efs.security_group_id == aws_security_group.lambda.id &&
      aws_vpc_security_group_egress_rule.lambda_to_efs.referenced_security_group_id == aws_security_group.efs[0].id &&
      aws_vpc_security_group_egress_rule.lambda_to_efs.cidr_ipv4 == null &&
      aws_vpc_security_group_egress_rule.lambda_to_efs.from_port == 2049 &&
      aws_vpc_security_group_egress_rule.lambda_to_efs.to_port == 2049
    )
    error_message = "The function may only talk NFS to the file system."
  }
  assert {
    condition     = length(aws_efs_mount_target.this) == 2 && alltrue([for target in aws_efs_mount_target.this : target.security_groups == toset([aws_security_group.efs[0].id])])
    error_message = "One mount target per subnet, behind the EFS security group only."
  }
  assert {
    condition     = [for target in aws_efs_mount_target.this : target.subnet_id] == ["subnet-0a0a0a0a0a0a0a0a0", "subnet-0b0b0b0b0b0b0b0b0"]
    error_message = "Mount targets go in the function's subnets."
  }
}

run "encrypted_by_default" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  assert {
    condition     = aws_efs_file_system.this[0].encrypted == true
    error_message = "The file system is encrypted at rest."
  }
  assert {
    condition     = aws_sqs_queue.failures.sqs_managed_sse_enabled == true
    error_message = "The failure queue is encrypted at rest."
  }
  assert {
    condition     = data.aws_iam_policy_document.file_system[0].statement[0].effect == "Deny" && one(data.aws_iam_policy_document.file_system[0].statement[0].condition).variable == "aws:SecureTransport"
    error_message = "The file system refuses clients without TLS."
  }
  assert {
    condition     = aws_efs_backup_policy.this[0].backup_policy[0].status == "ENABLED"
    error_message = "Backups are on by default."
  }
  assert {
    condition     = length(aws_efs_file_system_policy.this) == 1
    error_message = "The TLS-only file system policy is on by default."
  }
}

run "customer_managed_key_everywhere" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    kms_key_arn = "arn:aws:kms:ap-northeast-1:111122223333:key/00000000-0000-0000-0000-000000000000"
  }

  assert {
    condition = (
      aws_efs_file_system.this[0].kms_key_id == var.kms_key_arn &&
      aws_sqs_queue.failures.kms_master_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn &&
      aws_lambda_function.this.kms_key_arn == var.kms_key_arn
    )
    error_message = "kms_key_arn encrypts the file system, the queue, the log group and the environment."
  }
  assert {
    condition     = contains([for statement in data.aws_iam_policy_document.function.statement : statement.sid], "UseTheKey")
    error_message = "The function may use the key (to park payloads in the encrypted queue)."
  }
}

run "function_mounts_the_access_point_and_parks_failures" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  assert {
    condition     = aws_lambda_function.this.file_system_config[0].arn == aws_efs_access_point.this.arn && aws_lambda_function.this.file_system_config[0].local_mount_path == "/mnt/archive"
    error_message = "The function mounts the access point at /mnt/archive."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ARCHIVE_ROOT"] == "/mnt/archive" && aws_lambda_function.this.environment[0].variables["ARCHIVE_TIME_ZONE"] == "Asia/Tokyo" && jsondecode(aws_lambda_function.this.environment[0].variables["ARCHIVE_LABELS"]) == { system = "billing", env = "prod" }
    error_message = "The handler's settings come from the module's variables."
  }
  assert {
    condition     = aws_efs_access_point.this.posix_user[0].uid == 1000 && aws_efs_access_point.this.root_directory[0].path == "/logpipes/archive" && aws_efs_access_point.this.root_directory[0].creation_info[0].permissions == "0750"
    error_message = "The access point fixes the POSIX identity and the root directory."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == aws_sqs_queue.failures.arn && aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2
    error_message = "Failed asynchronous invocations are retried, then parked in the queue."
  }
  assert {
    condition     = aws_lambda_function.this.vpc_config[0].security_group_ids == toset([aws_security_group.lambda.id])
    error_message = "The function runs in its own security group."
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.function.statement : statement if statement.sid == "MountTheArchive"]).resources == toset([aws_efs_file_system.this[0].arn])
    error_message = "The function may mount this file system only."
  }
}

run "alarms_watch_errors_parked_and_dropped" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    alarm_actions = ["arn:aws:sns:ap-northeast-1:111122223333:oncall"]
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.errors.metric_name == "Errors" && aws_cloudwatch_metric_alarm.errors.dimensions["FunctionName"] == "archiver"
    error_message = "An alarm on the function's errors."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.parked_payloads.namespace == "AWS/SQS" && aws_cloudwatch_metric_alarm.parked_payloads.dimensions["QueueName"] == "archiver-failures"
    error_message = "An alarm on the depth of the failure queue."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dropped_events.metric_name == "AsyncEventsDropped"
    error_message = "An alarm on events Lambda dropped."
  }
  assert {
    condition     = alltrue([for alarm in [aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.parked_payloads, aws_cloudwatch_metric_alarm.dropped_events] : alarm.alarm_actions == toset(var.alarm_actions)])
    error_message = "Every alarm notifies alarm_actions."
  }
}

run "seal_schedule_invokes_the_function" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.seal[0].schedule_expression == "rate(1 hour)" && aws_lambda_permission.seal[0].principal == "events.amazonaws.com" && aws_lambda_permission.seal[0].source_arn == aws_cloudwatch_event_rule.seal[0].arn
    error_message = "The hourly schedule may invoke the function, and nothing else through this permission."
  }
}

run "existing_file_system" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    existing_file_system     = { id = "fs-0fedcba987654321f", security_group_id = "sg-0fedcba987654321f" }
    seal_schedule_expression = null
  }

  assert {
    condition     = length(aws_efs_file_system.this) == 0 && length(aws_efs_mount_target.this) == 0 && length(aws_security_group.efs) == 0
    error_message = "An existing file system is used as it is."
  }
  assert {
    condition     = aws_efs_access_point.this.file_system_id == "fs-0fedcba987654321f" && aws_vpc_security_group_ingress_rule.efs_from_lambda.security_group_id == "sg-0fedcba987654321f"
    error_message = "The access point and the NFS rule go on the existing file system and its security group."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.seal) == 0
    error_message = "No schedule when seal_schedule_expression is null."
  }
}

run "grace_must_cover_retries" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    seal_grace_seconds           = 600
    maximum_event_age_in_seconds = 600
  }

  expect_failures = [var.seal_grace_seconds]
}

run "labels_may_not_shadow_event_fields" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    labels = { message = "x" }
  }

  expect_failures = [var.labels]
}

run "mount_path_must_be_under_mnt" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    mount_path = "/var/archive"
  }

  expect_failures = [var.mount_path]
}
