# terraform test of the efs-archiver sub-module with a mocked AWS provider.

mock_provider "aws" {
  source = "./tests/mock_aws"

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
    defaults = { arn = "arn:aws:sqs:ap-northeast-1:111122223333:archiver-failures", name = "archiver-failures" }
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
    condition     = module.failures.kms_key_arn == null && module.failures.dead_letter_queue_arn == null
    error_message = "The failure queue is private-queue's: encrypted with SQS managed SSE and TLS only (its tests), no dead-letter queue of its own."
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
      module.failures.kms_key_arn == var.kms_key_arn
    )
    error_message = "kms_key_arn encrypts the file system and the queue (and reaches module.function: the log group and the environment)."
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
    condition     = module.function.environment["ARCHIVE_ROOT"] == "/mnt/archive" && module.function.environment["ARCHIVE_TIME_ZONE"] == "Asia/Tokyo" && jsondecode(module.function.environment["ARCHIVE_LABELS"]) == { system = "billing", env = "prod" }
    error_message = "The handler's settings come from the module's variables."
  }
  assert {
    condition     = aws_efs_access_point.this.posix_user[0].uid == 1000 && aws_efs_access_point.this.root_directory[0].path == "/logpipes/archive" && aws_efs_access_point.this.root_directory[0].creation_info[0].permissions == "0750"
    error_message = "The access point fixes the POSIX identity and the root directory."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == module.failures.arn && aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2
    error_message = "Failed asynchronous invocations are retried, then parked in the queue."
  }
  assert {
    condition     = tolist(module.function.vpc_config.security_group_ids) == tolist([aws_security_group.lambda.id]) && tolist(module.function.vpc_config.subnet_ids) == tolist(var.subnet_ids)
    error_message = "The function runs in its own security group."
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.function.statement : statement if statement.sid == "MountTheArchive"]).resources == toset([aws_efs_file_system.this[0].arn])
    error_message = "The function may mount this file system only."
  }
}

run "alarms_watch_errors_parked_dropped_and_refused" {
  command = apply

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    alarm_actions = ["arn:aws:sns:ap-northeast-1:111122223333:oncall"]
  }

  assert {
    condition     = module.function.alarms["errors"].metric_name == "Errors" && module.function.alarms["errors"].dimensions == tomap({ FunctionName = "archiver" }) && module.function.alarms["errors"].name == "archiver-errors"
    error_message = "An alarm on the function's errors."
  }
  assert {
    condition     = module.function.alarms["parked-payloads"].namespace == "AWS/SQS" && module.function.alarms["parked-payloads"].dimensions == tomap({ QueueName = "archiver-failures" })
    error_message = "An alarm on the depth of the failure queue."
  }
  assert {
    condition     = module.function.alarms["dropped-events"].metric_name == "AsyncEventsDropped" && module.function.alarms["dropped-events"].dimensions == tomap({ FunctionName = "archiver" })
    error_message = "An alarm on events Lambda dropped."
  }
  assert {
    condition     = module.function.alarms["failure-destination-errors"].metric_name == "DestinationDeliveryFailures" && module.function.alarms["failure-destination-errors"].namespace == "AWS/Lambda" && module.function.alarms["failure-destination-errors"].dimensions == tomap({ FunctionName = "archiver" }) && module.function.alarms["failure-destination-errors"].name == "archiver-failure-destination-errors"
    error_message = "An alarm on invocation records the failure queue refused."
  }
  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["errors", "throttles", "parked-payloads", "dropped-events", "failure-destination-errors"])
    error_message = "Errors, throttles, parked payloads, dropped events and failure destination errors alarms."
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

run "second_stack_in_the_same_account" {
  command   = apply
  state_key = "second"

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    name                 = "audit-archiver"
    permissions_boundary = "arn:aws:iam::111122223333:policy/platform-boundary"
  }

  assert {
    condition     = module.function.environment["POWERTOOLS_SERVICE_NAME"] == "audit-archiver" && module.function.alarms["errors"].dimensions == tomap({ FunctionName = "audit-archiver" })
    error_message = "Another archiver publishes and alarms under its own names."
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  assert {
    condition     = run.nfs_only_between_the_function_and_the_file_system.service_name != run.second_stack_in_the_same_account.service_name
    error_message = "Two archivers in one account must not share the service dimension of their metrics."
  }
}

run "kms_alias_is_rejected" {
  command = plan

  module {
    source = "./modules/efs-archiver"
  }

  variables {
    kms_key_arn = "alias/logs"
  }

  expect_failures = [var.kms_key_arn]
}
