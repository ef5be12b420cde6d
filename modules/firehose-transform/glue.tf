locals {
  glue_database = coalesce(var.glue_database_name, replace(lower(var.name), "/[^a-z0-9_]/", "_"))

  # Partition projection: Athena computes the dt partitions from the date prefix, so new days are
  # queryable without crawlers or MSCK REPAIR.
  location_template = "s3://${local.bucket_name}/${replace(var.prefix, "!{timestamp:yyyy/MM/dd}", "$${dt}")}"

  columns = {
    raw = [
      { name = "message", type = "string", comment = "the log event's message" },
    ]
    json = [
      { name = "owner", type = "string", comment = "AWS account of the log group" },
      { name = "loggroup", type = "string", comment = "log group name" },
      { name = "logstream", type = "string", comment = "log stream name" },
      { name = "id", type = "string", comment = "CloudWatch Logs event id" },
      { name = "timestamp", type = "timestamp", comment = "event time, UTC" },
      { name = "message", type = "string", comment = "the log event's message" },
    ]
  }

  serde = {
    # One line, one string column: a regex that takes the whole line.
    raw = {
      library    = "org.apache.hadoop.hive.serde2.RegexSerDe"
      parameters = { "input.regex" = "^(.*)$" }
    }
    json = {
      library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "timestamp.formats" = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        "case.insensitive"  = "true"
      }
    }
  }
}

resource "aws_glue_catalog_database" "this" {
  count = var.create_glue_table ? 1 : 0

  name        = local.glue_database
  description = "logpipes: logs delivered by Firehose ${var.name}"
}

resource "aws_glue_catalog_table" "this" {
  count = var.create_glue_table ? 1 : 0

  name          = var.glue_table_name
  database_name = aws_glue_catalog_database.this[0].name
  table_type    = "EXTERNAL_TABLE"
  description   = "${var.output_format} log events delivered by Firehose ${var.name} (gzip, partitioned by day)"

  parameters = {
    EXTERNAL                      = "TRUE"
    "classification"              = var.output_format == "json" ? "json" : "text"
    "compressionType"             = "gzip"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy/MM/dd"
    "projection.dt.range"         = "${var.projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = local.location_template
  }

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "delivery day, yyyy/MM/dd (UTC)"
  }

  storage_descriptor {
    location      = "s3://${local.bucket_name}/${local.prefix_static}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    compressed    = true

    ser_de_info {
      serialization_library = local.serde[var.output_format].library
      parameters            = local.serde[var.output_format].parameters
    }

    dynamic "columns" {
      for_each = local.columns[var.output_format]
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}
