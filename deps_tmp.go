package main
import (
 _ "github.com/segmentio/kafka-go"
 _ "github.com/cenkalti/backoff/v4"
 _ "github.com/wechatpay-apiv3/wechatpay-go/core"
 _ "github.com/rs/zerolog"
 _ "github.com/twmb/franz-go/pkg/kfake"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "golang.org/x/time/rate"
 _ "go.uber.org/goleak"
 _ "github.com/santhosh-tekuri/jsonschema/v6"
 _ "gopkg.in/yaml.v3"
)
func main(){}
