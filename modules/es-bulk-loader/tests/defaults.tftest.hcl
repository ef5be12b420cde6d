mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock", id = "mock", name = "mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:nasa-logs-step" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/nasa-logs-step" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:nasa-logs" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/nasa-logs-object-created", name = "nasa-logs-object-created" }
  }
}

variables {
  name                = "nasa-logs"
  image_uri           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/es_bulk_loader@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  opensearch_endpoint = "search-nasa-logs-abc123.eu-west-1.es.amazonaws.com"
  opensearch_arn      = "arn:aws:es:eu-west-1:123456789012:domain/nasa-logs"
  source_bucket_name  = "nasa-http-logs"
  source_prefix       = "raw/"
  index_pattern       = "nasa-logs-%Y.%m.%d"
}

run "functions" {
  command = apply

  assert {
    condition     = { for step, f in local.functions : step => f.handler } == { prepare = "logpipes.es_bulk_loader.prepare_handler", plan = "logpipes.es_bulk_loader.plan_handler", load = "logpipes.es_bulk_loader.handler", report = "logpipes.es_bulk_loader.report_handler" }
    error_message = "one image, four handlers (module.function's image_command)"
  }
  assert {
    condition     = output.function_names == { prepare = "nasa-logs-prepare", plan = "nasa-logs-plan", load = "nasa-logs-load", report = "nasa-logs-report" }
    error_message = "four functions named after the stack and their step"
  }
  assert {
    condition     = alltrue([for f in module.function : f.environment.POWERTOOLS_SERVICE_NAME == "nasa-logs" && f.environment.POWERTOOLS_METRICS_NAMESPACE == "logpipes"])
    error_message = "the four steps publish under this stack's service name"
  }
  assert {
    condition     = module.function["load"].environment.OPENSEARCH_ENDPOINT == "https://search-nasa-logs-abc123.eu-west-1.es.amazonaws.com" && module.function["load"].environment.OPENSEARCH_SERVICE == "es"
    error_message = "the loader signs for the domain (service es) at its https endpoint"
  }
  assert {
    condition     = module.function["load"].environment.BULK_BYTES == "5242880" && module.function["plan"].environment.CHUNK_BYTES == "8388608"
    error_message = "defaults: 8 MiB chunks, 5 MiB bulk requests"
  }
  assert {
    condition     = module.function["plan"].environment.WORK_BUCKET == "nasa-http-logs" && module.function["load"].environment.DEAD_LETTER_BUCKET == "nasa-http-logs"
    error_message = "work and dead-letter objects default to the source bucket"
  }
  assert {
    condition     = !contains(keys(module.function["load"].environment), "AWS_ACCESS_KEY_ID") && !contains(keys(module.function["load"].environment), "AWS_SECRET_ACCESS_KEY")
    error_message = "no keys in the environment: the functions sign with their role"
  }
}

run "iam_is_scoped_to_this_domain_bucket_and_prefixes" {
  command = apply

  # Only es:ESHttpPut (template, pipeline) and es:ESHttpPost (_bulk), on paths of this domain.
  assert {
    condition     = data.aws_iam_policy_document.prepare.statement[0].actions == toset(["es:ESHttpPut"]) && data.aws_iam_policy_document.prepare.statement[0].resources == toset(["arn:aws:es:eu-west-1:123456789012:domain/nasa-logs/_index_template/*", "arn:aws:es:eu-west-1:123456789012:domain/nasa-logs/_ingest/pipeline/*"])
    error_message = "prepare may only PUT index templates and pipelines of this domain"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.load.statement : s.resources if s.sid == "BulkIndex"][0] == toset(["arn:aws:es:eu-west-1:123456789012:domain/nasa-logs/_bulk"]) && [for s in data.aws_iam_policy_document.load.statement : s.actions if s.sid == "BulkIndex"][0] == toset(["es:ESHttpPost"])
    error_message = "load may only POST _bulk to this domain"
  }
  assert {
    condition     = alltrue(flatten([for doc in [data.aws_iam_policy_document.plan, data.aws_iam_policy_document.load, data.aws_iam_policy_document.report] : [for s in doc.statement : alltrue([for a in s.actions : !startswith(a, "es:")]) if s.sid != "BulkIndex"]]))
    error_message = "no other statement grants OpenSearch actions"
  }
  # Read this bucket (under the source prefix); write only chunks/chunk lists and dead letters.
  assert {
    condition     = [for s in data.aws_iam_policy_document.plan.statement : s.resources if s.sid == "ReadSourceObjects"][0] == toset(["arn:aws:s3:::nasa-http-logs/raw/*"])
    error_message = "plan reads the source prefix only"
  }
  assert {
    condition     = length(one([for s in data.aws_iam_policy_document.plan.statement : s.condition if s.sid == "ListSourcePrefix"])) == 1 && alltrue([for c in one([for s in data.aws_iam_policy_document.plan.statement : s.condition if s.sid == "ListSourcePrefix"]) : c.test == "StringLike" && c.variable == "s3:prefix" && length(c.values) == 1 && contains(c.values, "raw/*")])
    error_message = "plan lists the source prefix only"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.plan.statement : s.resources if s.sid == "WriteChunksAndChunkLists"][0] == toset(["arn:aws:s3:::nasa-http-logs/es-bulk-loader/work/manifests/*", "arn:aws:s3:::nasa-http-logs/es-bulk-loader/work/chunks/*"])
    error_message = "plan writes chunk lists and chunks under the work prefix only"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.load.statement : s.resources if s.sid == "WriteDeadLetters"][0] == toset(["arn:aws:s3:::nasa-http-logs/es-bulk-loader/dead-letter/*"])
    error_message = "load writes only the dead-letter prefix"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.plan.statement : s.actions if s.sid == "AbortChunkUploads"] == [toset(["s3:AbortMultipartUpload"])] && [for s in data.aws_iam_policy_document.plan.statement : s.resources if s.sid == "AbortChunkUploads"][0] == toset(["arn:aws:s3:::nasa-http-logs/es-bulk-loader/work/chunks/*"])
    error_message = "plan may abort its multipart uploads of decompressed chunks, and no other"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.load.statement : s.actions if s.sid == "AbortDeadLetterUploads"] == [toset(["s3:AbortMultipartUpload"])] && [for s in data.aws_iam_policy_document.load.statement : s.resources if s.sid == "AbortDeadLetterUploads"][0] == toset(["arn:aws:s3:::nasa-http-logs/es-bulk-loader/dead-letter/*"])
    error_message = "load may abort its multipart uploads of over-long lines' dead letters, and no other"
  }
  assert {
    condition     = alltrue(flatten([for doc in [data.aws_iam_policy_document.prepare, data.aws_iam_policy_document.plan, data.aws_iam_policy_document.load, data.aws_iam_policy_document.report] : [for s in doc.statement : alltrue([for a in s.actions : !contains(["s3:*", "s3:DeleteObject", "s3:PutBucketPolicy", "es:*", "*"], a)])]]))
    error_message = "no wildcard or destructive actions"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.report.statement : s.resources if s.sid == "ReadMapResults"][0] == toset(["arn:aws:s3:::nasa-http-logs/es-bulk-loader/work/results/*"])
    error_message = "report reads the Map results only"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.state_machine.statement : s.resources if s.sid == "RunChildExecutions"][0] == toset(["arn:aws:states:eu-west-1:123456789012:stateMachine:nasa-logs"])
    error_message = "the state machine may start executions of itself only (Distributed Map children)"
  }
}

run "state_machine" {
  command = apply

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.tracing_configuration[0].enabled && aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR"
    error_message = "a Standard state machine with tracing and logging"
  }
  assert {
    condition     = [for name, s in jsondecode(aws_sfn_state_machine.this.definition).States : name] == ["Load", "Plan", "Prepare", "Report"] && jsondecode(aws_sfn_state_machine.this.definition).StartAt == "Prepare"
    error_message = "Prepare, Plan, Load, Report"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Load.ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" } && jsondecode(aws_sfn_state_machine.this.definition).States.Load.MaxConcurrency == 10 && !contains(keys(jsondecode(aws_sfn_state_machine.this.definition).States.Load), "ToleratedFailurePercentage")
    error_message = "Load is a Distributed Map with MaxConcurrency 10 and no tolerated failures by default"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Load.ItemReader.Parameters == { "Bucket.$" = "$.plan.manifest.bucket", "Key.$" = "$.plan.manifest.key" } && jsondecode(aws_sfn_state_machine.this.definition).States.Load.ResultWriter.Parameters == { Bucket = "nasa-http-logs", Prefix = "es-bulk-loader/work/results" }
    error_message = "the Map reads the chunk list Plan wrote and writes its results where Report reads them"
  }
  # The payloads the handlers (and demo/es_bulk_loader.py's local run) expect.
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Plan.Parameters.Payload == { "request.$" = "$", "execution.$" = "$$.Execution.Name" } && jsondecode(aws_sfn_state_machine.this.definition).States.Report.Parameters.Payload == { "files.$" = "$.plan.files", "results.$" = "$.load.ResultWriterDetails", "started_at.$" = "$$.Execution.StartTime" }
    error_message = "Plan and Report payloads"
  }
  assert {
    condition     = contains(flatten([for r in jsondecode(aws_sfn_state_machine.this.definition).States.Load.ItemProcessor.States.LoadChunk.Retry : r.ErrorEquals]), "BulkUnavailable")
    error_message = "a chunk whose cluster stayed unavailable is retried later"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.object_created) == 0 && length(aws_s3_bucket_notification.eventbridge) == 0
    error_message = "no trigger unless s3_trigger.enabled"
  }
  assert {
    condition     = length(output.alarm_arns) == 12 && module.function["report"].alarms["documents-dead-lettered"].dimensions == tomap({ service = "nasa-logs" }) && module.function["report"].alarms["chunks-failed"].name == "nasa-logs-chunks-failed"
    error_message = "alarms on executions, function errors and throttles, dead letters and failed chunks"
  }
  assert {
    condition     = module.function["load"].alarms["errors"].name == "nasa-logs-load-errors" && module.function["load"].alarms["errors"].dimensions == tomap({ FunctionName = "nasa-logs-load" }) && module.function["report"].alarms["executions-failed"].dimensions == tomap({ StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:nasa-logs" })
    error_message = "each function's errors, and the state machine's executions, are watched by their own dimensions"
  }
}

run "serverless_collection_and_trigger" {
  command = apply

  variables {
    opensearch_endpoint          = "https://abc123xyz.eu-west-1.aoss.amazonaws.com"
    opensearch_arn               = "arn:aws:aoss:eu-west-1:123456789012:collection/abc123xyz"
    work_bucket_name             = "nasa-loader-work"
    s3_trigger                   = { enabled = true, prefix = "raw/incoming/" }
    tolerated_failure_percentage = 5
    kms_key_arn                  = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = module.function["load"].environment.OPENSEARCH_SERVICE == "aoss" && data.aws_iam_policy_document.prepare.statement[0].actions == toset(["aoss:APIAccessAll"]) && data.aws_iam_policy_document.prepare.statement[0].resources == toset([var.opensearch_arn])
    error_message = "a Serverless collection is signed for aoss and scoped to the collection"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Load.ToleratedFailurePercentage == 5
    error_message = "a tolerated-failure threshold is passed to the Map"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.object_created[0].event_pattern).detail == { bucket = { name = ["nasa-http-logs"] }, object = { key = [{ prefix = "raw/incoming/" }] } }
    error_message = "new objects under the trigger prefix start executions"
  }
  assert {
    condition     = aws_cloudwatch_event_target.state_machine[0].arn == aws_sfn_state_machine.this.arn && aws_s3_bucket_notification.eventbridge[0].eventbridge
    error_message = "EventBridge targets the state machine; the bucket sends its events to EventBridge"
  }
  assert {
    condition     = aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.state_machine.kms_key_id == var.kms_key_arn
    error_message = "kms_key_arn encrypts the state machine's data and logs (and reaches module.function: the functions' environment and logs)"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.plan.statement : s.resources if s.sid == "WriteChunksAndChunkLists"][0] == toset(["arn:aws:s3:::nasa-loader-work/es-bulk-loader/work/manifests/*", "arn:aws:s3:::nasa-loader-work/es-bulk-loader/work/chunks/*"])
    error_message = "work objects go to the work bucket"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.plan.statement : s.resources if s.sid == "AbortChunkUploads"][0] == toset(["arn:aws:s3:::nasa-loader-work/es-bulk-loader/work/chunks/*"]) && [for s in data.aws_iam_policy_document.load.statement : s.resources if s.sid == "AbortDeadLetterUploads"][0] == toset(["arn:aws:s3:::nasa-loader-work/es-bulk-loader/dead-letter/*"])
    error_message = "uploads are aborted where they are made: chunks and dead letters in the work bucket"
  }
}

run "second_stack_in_the_same_account" {
  command   = apply
  state_key = "second"

  variables {
    name                 = "apache-logs"
    vpc_config           = { subnet_ids = ["subnet-0a"], security_group_ids = ["sg-0a"] }
    permissions_boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
  }

  assert {
    condition     = module.function["report"].alarms["documents-dead-lettered"].dimensions == tomap({ service = "apache-logs" })
    error_message = "another stack's report alarms watch its own service name"
  }
  assert {
    condition     = module.function["load"].vpc_config == var.vpc_config && module.function["prepare"].vpc_config == var.vpc_config && module.function["plan"].vpc_config == null && module.function["report"].vpc_config == null
    error_message = "only the functions that call OpenSearch run in the VPC"
  }
  assert {
    condition     = aws_iam_role.state_machine.permissions_boundary == var.permissions_boundary
    error_message = "the permissions boundary applies to every role the module creates"
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  assert {
    condition     = run.functions.service_name != run.second_stack_in_the_same_account.service_name
    error_message = "two stacks in one account must not share the service dimension of their alarms"
  }
}
