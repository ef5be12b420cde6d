locals {
  glue_database = coalesce(var.glue_database_name, replace(lower(var.name), "/[^a-z0-9_]/", "_"))

  # Partition projection: Athena computes the dt partitions from the date prefix, so new days are
  # queryable without crawlers or MSCK REPAIR.
  location_template = "s3://${local.bucket_name}/${replace(var.prefix, "!{timestamp:yyyy/MM/dd}", "$${dt}")}"

  # The configured columns, as the function writes them (its COLUMNS variable is the same list): one
  # source of truth for the objects and the table. With keep_raw, columns and csv end in _raw.
  raw_column = contains(["columns", "csv"], var.output_format) && var.on_unparsed == "keep_raw" ? [
    { name = "_raw", type = "string", comment = "the message of an event that did not parse; NULL otherwise" },
  ] : []
  configured_columns = [for c in var.columns : {
    name = c.name
    # The Open CSV SerDe reads TIMESTAMP only as epoch millis: csv timestamps are the text the
    # function writes (yyyy-MM-dd HH:mm:ss.SSS, UTC), for CAST(... AS timestamp) in queries.
    type    = var.output_format == "csv" && c.type == "timestamp" ? "string" : c.type
    comment = substr(var.output_format == "csv" && c.type == "timestamp" ? "timestamp (UTC, yyyy-MM-dd HH:mm:ss.SSS) from ${c.source}" : "from ${c.source}", 0, 255)
  }]

  glue_columns = {
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
    columns = concat(local.configured_columns, local.raw_column)
    csv     = concat(local.configured_columns, local.raw_column)
    custom  = local.configured_columns
  }

  # The function writes timestamps of the columns as yyyy-MM-dd HH:mm:ss.SSS (UTC).
  columns_json_serde = {
    library    = "org.openx.data.jsonserde.JsonSerDe"
    parameters = { "timestamp.formats" = "yyyy-MM-dd HH:mm:ss.SSS" }
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
    columns = local.columns_json_serde
    custom  = local.columns_json_serde
    # RFC 4180 as the function writes it: comma, double quotes (doubled inside a field), no header.
    # The SerDe always has an escape character (backslash by default, which would eat the one of
    # \\ and end a field early at \"): SOH (U+0001), which log text practically never holds.
    csv = {
      library = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
      parameters = {
        separatorChar = ","
        quoteChar     = "\""
        escapeChar    = "\u0001"
      }
    }
  }

  classification = {
    raw     = "text"
    json    = "json"
    columns = "json"
    custom  = "json"
    csv     = "csv"
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

  parameters = merge({
    EXTERNAL                      = "TRUE"
    "classification"              = local.classification[var.output_format]
    "compressionType"             = "gzip"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy/MM/dd"
    "projection.dt.range"         = "${var.projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = local.location_template
    },
    # An empty csv field is a NULL; without this the Open CSV SerDe fails on one in a numeric column.
    var.output_format == "csv" ? { "use.null.for.invalid.data" = "true" } : {},
  )

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
      for_each = local.glue_columns[var.output_format]
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}
