data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The ARN decides how the Lambdas sign (SigV4 service "es" or "aoss") and what they may call.
  opensearch_service  = split(":", var.opensearch_arn)[2]
  serverless          = local.opensearch_service == "aoss"
  opensearch_endpoint = "https://${trimsuffix(trimprefix(var.opensearch_endpoint, "https://"), "/")}"

  work_bucket        = coalesce(var.work_bucket_name, var.source_bucket_name)
  dead_letter_bucket = coalesce(var.dead_letter_bucket_name, local.work_bucket)
  manifests_prefix   = "${var.work_prefix}manifests/"
  chunks_prefix      = "${var.work_prefix}chunks/"
  results_prefix     = "${var.work_prefix}results"

  # Built, not referenced: the state machine's role must name the state machine before it exists.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"
  executions_arn    = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"

  opensearch_environment = {
    OPENSEARCH_ENDPOINT = local.opensearch_endpoint
    OPENSEARCH_SERVICE  = local.opensearch_service
  }
  dead_letter_environment = {
    DEAD_LETTER_BUCKET = local.dead_letter_bucket
    DEAD_LETTER_PREFIX = var.dead_letter_prefix
  }

  # The four steps: one image, four handlers, four roles.
  functions = {
    prepare = {
      handler     = "logpipes.es_bulk_loader.prepare_handler"
      description = "put the index template (typed mapping) for ${var.index_pattern}"
      memory_size = 256
      timeout     = 60
      in_vpc      = true
      environment = merge(local.opensearch_environment, {
        INDEX_PATTERN      = var.index_pattern
        NUMBER_OF_SHARDS   = tostring(var.number_of_shards)
        NUMBER_OF_REPLICAS = tostring(var.number_of_replicas)
        REFRESH_INTERVAL   = var.refresh_interval
        INDEX_MESSAGE      = tostring(var.index_message)
        INGEST_PIPELINE    = var.ingest_pipeline == null ? "" : var.ingest_pipeline
      })
    }
    plan = {
      handler     = "logpipes.es_bulk_loader.plan_handler"
      description = "cut s3://${var.source_bucket_name}/${var.source_prefix} objects into line-aligned chunks"
      memory_size = var.plan_memory_size
      timeout     = var.plan_timeout
      in_vpc      = false
      environment = merge(local.dead_letter_environment, {
        SOURCE_BUCKET = var.source_bucket_name
        WORK_BUCKET   = local.work_bucket
        WORK_PREFIX   = var.work_prefix
        CHUNK_BYTES   = tostring(var.chunk_bytes)
        INDEX_PATTERN = var.index_pattern
      })
    }
    load = {
      handler     = "logpipes.es_bulk_loader.handler"
      description = "parse one chunk of Apache access logs and bulk-index it"
      memory_size = var.load_memory_size
      timeout     = var.load_timeout
      in_vpc      = true
      environment = merge(local.opensearch_environment, local.dead_letter_environment, {
        BULK_BYTES        = tostring(var.bulk_bytes)
        BULK_MAX_ATTEMPTS = tostring(var.bulk_max_attempts)
      })
    }
    report = {
      handler     = "logpipes.es_bulk_loader.report_handler"
      description = "sum the chunks' results per file and in total, publish metrics"
      memory_size = 512
      timeout     = 300
      in_vpc      = false
      environment = {}
    }
  }
}
