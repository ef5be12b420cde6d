module "function" {
  source   = "../lambda-function"
  for_each = local.functions
  # Invoked synchronously by Step Functions, which retries and records failures.

  name                           = "${var.name}-${each.key}"
  description                    = "logpipes es-bulk-loader: ${each.value.description}"
  image_uri                      = var.image_uri
  image_command                  = [each.value.handler]
  architecture                   = var.architecture
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.key == "load" ? var.load_reserved_concurrent_executions : null
  kms_key_arn                    = var.kms_key_arn
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.log_level
  tracing_mode                   = var.tracing_mode
  # One service name for the four steps: the Report step's metrics are this stack's.
  service_name         = var.name
  metrics_namespace    = var.metrics_namespace
  environment          = each.value.environment
  vpc_config           = each.value.in_vpc ? var.vpc_config : null
  role_name            = "${var.name}-${each.key}"
  role_path            = var.role_path
  permissions_boundary = var.permissions_boundary
  policy_documents     = [local.lambda_policies[each.key]]

  create_alarms     = var.create_alarms
  alarm_actions     = var.alarm_actions
  alarm_name_prefix = var.name
  # The pipeline's own alarms go with the Report step, which publishes its metrics.
  alarms = { for key, alarm in local.alarms : key => alarm if each.key == "report" }
  tags   = var.tags
}
