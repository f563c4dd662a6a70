package model_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/model"
)

func TestBoundsAndShape(t *testing.T) {
	cases := []struct {
		name string
		p    model.Params
	}{
		{"iot edge defaults", model.DefaultParams()},
		{"cold narrow machine", model.Params{MachineTempMin: -10, MachineTempMax: 5, MachinePressureMin: 2, MachinePressureMax: 3, AmbientTemp: -5, AmbientHumidity: 80}},
		{"constant pressure", model.Params{MachineTempMin: 40, MachineTempMax: 60, MachinePressureMin: 7, MachinePressureMax: 7, AmbientTemp: 30, AmbientHumidity: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err != nil {
				t.Fatal(err)
			}
			p := tc.p
			m := model.New(p, rand.New(rand.NewPCG(1, 2)))
			slope := (p.MachinePressureMax - p.MachinePressureMin) / (p.MachineTempMax - p.MachineTempMin)
			prev := p.MachineTempMin
			crossed := false
			humid := map[int]bool{}
			at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CET", 3600))
			// Enough steps to cross the maximum (average +0.5 per step) and jitter a while.
			steps := int(2*(p.MachineTempMax-p.MachineTempMin)/0.5) + 500
			for i := 0; i < steps; i++ {
				m.Step()
				b := m.Sample(at)
				d := b.Machine.Temperature - prev
				if prev > p.MachineTempMax {
					crossed = true
					if d < -0.5 || d >= 0.5 {
						t.Fatalf("step %d: jitter above max %g: %g", i, p.MachineTempMax, d)
					}
				} else if d < -0.25 || d >= 1.25 {
					t.Fatalf("step %d: walk step %g outside [-0.25,1.25)", i, d)
				}
				if crossed && (b.Machine.Temperature < p.MachineTempMax-30 || b.Machine.Temperature > p.MachineTempMax+30) {
					t.Fatalf("step %d: temperature %g wandered far from max %g", i, b.Machine.Temperature, p.MachineTempMax)
				}
				wantP := p.MachinePressureMin + (b.Machine.Temperature-p.MachineTempMin)*slope
				if math.Abs(b.Machine.Pressure-wantP) > 1e-9 {
					t.Fatalf("step %d: pressure %g, want %g from temperature %g", i, b.Machine.Pressure, wantP, b.Machine.Temperature)
				}
				if b.Ambient.Temperature < p.AmbientTemp-0.5 || b.Ambient.Temperature >= p.AmbientTemp+0.5 {
					t.Fatalf("step %d: ambient %g outside %g±0.5", i, b.Ambient.Temperature, p.AmbientTemp)
				}
				humid[b.Ambient.Humidity] = true
				if !b.TimeCreated.Equal(at) || b.TimeCreated.Location() != time.UTC {
					t.Fatalf("timeCreated %v, want %v in UTC", b.TimeCreated, at)
				}
				prev = b.Machine.Temperature
			}
			if !crossed {
				t.Fatalf("never passed machineTempMax %g in %d steps (last %g)", p.MachineTempMax, steps, prev)
			}
			var hs []int
			for h := range humid {
				hs = append(hs, h)
			}
			sort.Ints(hs)
			if want := []int{p.AmbientHumidity - 1, p.AmbientHumidity, p.AmbientHumidity + 1}; !reflect.DeepEqual(hs, want) {
				t.Errorf("humidities %v, want %v", hs, want)
			}
		})
	}
}

func TestDefaultHumidityIs24To26AndResetReturnsToMin(t *testing.T) {
	m := model.New(model.DefaultParams(), rand.New(rand.NewPCG(3, 4)))
	for range 300 {
		m.Step()
		if h := m.Sample(time.Now()).Ambient.Humidity; h < 24 || h > 26 {
			t.Fatalf("humidity %d", h)
		}
	}
	if m.Temperature() < 90 {
		t.Fatalf("after 300 steps the machine should be near 100, is %g", m.Temperature())
	}
	m.Reset()
	if m.Temperature() != 21 {
		t.Fatalf("reset to %g, want machineTempMin 21", m.Temperature())
	}
	m.Step()
	if got := m.Temperature(); got < 20.75 || got >= 22.25 {
		t.Fatalf("first step after reset %g, want 21+[-0.25,1.25)", got)
	}
}

func TestSameSeedSameSeries(t *testing.T) {
	series := func() []model.Body {
		m := model.New(model.DefaultParams(), rand.New(rand.NewPCG(9, 9)))
		var out []model.Body
		for range 50 {
			m.Step()
			out = append(out, m.Sample(time.Unix(0, 0)))
		}
		return out
	}
	if !reflect.DeepEqual(series(), series()) {
		t.Fatal("the same seed gave different series")
	}
}

// The JSON body has exactly the IoT Edge module's fields, humidity an integer.
func TestJSONShape(t *testing.T) {
	m := model.New(model.DefaultParams(), rand.New(rand.NewPCG(5, 6)))
	m.Step()
	b, err := json.Marshal(m.Sample(time.Date(2026, 11, 25, 10, 0, 0, 123456700, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]map[string]any
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || string(top["timeCreated"]) != `"2026-11-25T10:00:00.1234567Z"` {
		t.Fatalf("top level %s", b)
	}
	delete(top, "timeCreated")
	rest, _ := json.Marshal(top)
	if err := json.Unmarshal(rest, &v); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		sort.Strings(k)
		return strings.Join(k, ",")
	}
	if keys(v["machine"]) != "pressure,temperature" || keys(v["ambient"]) != "humidity,temperature" {
		t.Fatalf("body %s", b)
	}
	if h := v["ambient"]["humidity"].(float64); h != math.Trunc(h) {
		t.Errorf("humidity %v is not an integer", h)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := model.Params{MachineTempMin: 50, MachineTempMax: 50, MachinePressureMin: 5, MachinePressureMax: 1, AmbientTemp: math.NaN(), AmbientHumidity: 0}
	err := p.Validate()
	for _, want := range []string{"machineTempMax", "machinePressureMax", "ambientTemp", "ambientHumidity"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
