package observe

import (
	"context"
	"errors"
	"fmt"
	"os"

	promclient "github.com/prometheus/client_golang/prometheus"
	prombridge "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/edgeframe/edgeframe/pkg/version"
)

// Resource names the process in every trace and metric it exports.
type Resource struct {
	Service string // service.name, the app id
	Version string // service.version ("" = pkg/version.Version, the build's version)
	Layer   string // edge.layer: l2, l3, l4
	Region  string // cloud.region (semantic convention); also edge.region, its former name, for one release
	Cluster string // k8s.cluster.name
}

func (r Resource) attributes() []attribute.KeyValue {
	if r.Version == "" {
		r.Version = version.Version
	}
	kv := []attribute.KeyValue{attribute.String("service.name", r.Service)}
	for _, a := range [][2]string{
		{"service.version", r.Version}, {"edge.layer", r.Layer}, {"cloud.region", r.Region},
		{"edge.region", r.Region}, {"k8s.cluster.name", r.Cluster},
	} {
		if a[1] != "" {
			kv = append(kv, attribute.String(a[0], a[1]))
		}
	}
	return kv
}

// resource is what every exported span and metric carries: the SDK's defaults, r's attributes,
// then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, so an operator's environment wins over
// the flags' values.
func (r Resource) resource() (*resource.Resource, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(r.attributes()...))
	if err != nil {
		return nil, err
	}
	return resource.Merge(res, resource.Environment())
}

// Telemetry is what Setup returns: the providers a workload instruments with.
type Telemetry struct {
	Tracer trace.TracerProvider
	Meter  metric.MeterProvider
	// Exporting is true when an OTLP endpoint is configured.
	Exporting bool
	shutdown  []func(context.Context) error
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Setup builds tracer and meter providers for r. When OTEL_EXPORTER_OTLP_ENDPOINT (or the
// traces/metrics specific variable) is set, spans and metrics are exported over OTLP/gRPC,
// and the Prometheus collectors in reg are bridged into the OTLP metric stream so the same
// figures reach both /metrics and the collector. Without an endpoint nothing is exported and
// the no-op tracer is used. W3C trace context is installed as the global propagator.
func Setup(ctx context.Context, r Resource, reg *promclient.Registry) (*Telemetry, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t := &Telemetry{Tracer: tracenoop.NewTracerProvider()}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" &&
		os.Getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") == "" {
		t.Meter = sdkmetric.NewMeterProvider()
		return t, nil
	}
	res, err := r.resource()
	if err != nil {
		return nil, fmt.Errorf("observe: resource: %w", err)
	}
	te, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe: OTLP trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te), sdktrace.WithResource(res))
	me, err := otlpmetricgrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe: OTLP metric exporter: %w", err)
	}
	readerOpts := []sdkmetric.PeriodicReaderOption{}
	if reg != nil {
		readerOpts = append(readerOpts, sdkmetric.WithProducer(prombridge.NewMetricProducer(prombridge.WithGatherer(reg))))
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, readerOpts...)))
	t.Tracer, t.Meter, t.Exporting = tp, mp, true
	t.shutdown = append(t.shutdown, tp.Shutdown, mp.Shutdown)
	return t, nil
}
