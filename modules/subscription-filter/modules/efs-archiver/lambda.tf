module "function" {
  source = "../../../lambda-function"
  # Asynchronous failures go to the on-failure destination (failures.tf), which keeps the error
  # with the payload; a DLQ would keep the payload only.

  name                           = var.name
  description                    = "logpipes subscription_filter: archive CloudWatch Logs deliveries into day files on EFS."
  image_uri                      = var.image_uri
  architecture                   = var.architecture
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.log_level
  metrics_namespace              = var.metrics_namespace
  tracing_mode                   = var.tracing_mode
  create_role                    = var.create_function_role
  role_arn                       = var.function_role_arn
  role_name                      = var.create_function_role ? "${var.name}-archiver" : null
  role_path                      = var.role_path
  permissions_boundary           = var.permissions_boundary
  policy_documents               = [data.aws_iam_policy_document.function.json]
  environment                    = local.environment

  vpc_config = {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }
  file_system_config = {
    access_point_arn = aws_efs_access_point.this.arn
    local_mount_path = var.mount_path
  }

  create_alarms = var.create_alarms
  alarm_actions = var.alarm_actions
  alarms = {
    parked-payloads = {
      description = "Payloads the archiver could not write are waiting in ${module.failures.name}: fix the cause, then redrive them."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = module.failures.name }
    }
    dropped-events = {
      description = "Lambda dropped asynchronous events of ${var.name} without delivering them to the failure queue."
      namespace   = "AWS/Lambda"
      metric      = "AsyncEventsDropped"
    }
    failure-destination-errors = {
      description = "Lambda could not send the records of events that failed every attempt to ${module.failures.name}: those events are lost."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
    }
  }
  tags = var.tags

  # The function mounts the file system when it starts: the mount targets and the NFS rules
  # must exist before it does.
  depends_on = [
    aws_efs_mount_target.this,
    aws_vpc_security_group_ingress_rule.efs_from_lambda,
    aws_vpc_security_group_egress_rule.lambda_to_efs,
  ]
}
