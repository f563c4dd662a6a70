// Package model is the machine and ambient model of Azure IoT Edge's
// SimulatedTemperatureSensor: the machine temperature walks up from MachineTempMin
// (+U(-0.25,1.25) per step, +0.5 on average) until it passes MachineTempMax, then jitters
// by U(-0.5,0.5); pressure follows the temperature linearly from MachinePressureMin
// (at MachineTempMin) to MachinePressureMax (at MachineTempMax); the ambient temperature
// is AmbientTemp ± 0.5 and the humidity AmbientHumidity + {-1, 0, 1} (24–26 by default).
// The random source is injected, so tests seed it.
package model

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Params are the IoT Edge module's simulation settings, under their IoT Edge names.
type Params struct {
	MachineTempMin     float64 // machineTempMin, °C (21)
	MachineTempMax     float64 // machineTempMax, °C (100)
	MachinePressureMin float64 // machinePressureMin, psi (1)
	MachinePressureMax float64 // machinePressureMax, psi (10)
	AmbientTemp        float64 // ambientTemp, °C (21)
	AmbientHumidity    int     // ambientHumidity, % (25)
}

// DefaultParams are the IoT Edge module's defaults.
func DefaultParams() Params {
	return Params{MachineTempMin: 21, MachineTempMax: 100, MachinePressureMin: 1, MachinePressureMax: 10, AmbientTemp: 21, AmbientHumidity: 25}
}

// Validate reports every problem at once, each naming its setting.
func (p Params) Validate() error {
	var errs []error
	finite := func(name string, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s: must be a finite number, got %g", name, v))
			return false
		}
		return true
	}
	tmin, tmax := finite("machineTempMin", p.MachineTempMin), finite("machineTempMax", p.MachineTempMax)
	pmin, pmax := finite("machinePressureMin", p.MachinePressureMin), finite("machinePressureMax", p.MachinePressureMax)
	finite("ambientTemp", p.AmbientTemp)
	if tmin && tmax && p.MachineTempMax <= p.MachineTempMin {
		errs = append(errs, fmt.Errorf("machineTempMax: must be above machineTempMin %g, got %g", p.MachineTempMin, p.MachineTempMax))
	}
	if pmin && pmax && p.MachinePressureMax < p.MachinePressureMin {
		errs = append(errs, fmt.Errorf("machinePressureMax: must not be below machinePressureMin %g, got %g", p.MachinePressureMin, p.MachinePressureMax))
	}
	if p.AmbientHumidity < 1 || p.AmbientHumidity > 99 {
		errs = append(errs, fmt.Errorf("ambientHumidity: must be 1..99 %%, got %d", p.AmbientHumidity))
	}
	return errors.Join(errs...)
}

// Rand is the random source: *math/rand/v2.Rand satisfies it.
type Rand interface {
	Float64() float64 // [0,1)
	IntN(n int) int   // [0,n)
}

// Body is the message body, exactly the IoT Edge module's JSON.
type Body struct {
	Machine     Machine   `json:"machine"`
	Ambient     Ambient   `json:"ambient"`
	TimeCreated time.Time `json:"timeCreated"`
}

// Machine is the simulated machine's state.
type Machine struct {
	Temperature float64 `json:"temperature"` // °C
	Pressure    float64 `json:"pressure"`    // psi
}

// Ambient is the simulated room.
type Ambient struct {
	Temperature float64 `json:"temperature"` // °C
	Humidity    int     `json:"humidity"`    // %
}

// Model is the simulation state. It is not safe for concurrent use: one loop owns it.
type Model struct {
	p    Params
	rnd  Rand
	temp float64
	// slope is dPressure/dTemperature.
	slope float64
}

// New returns a model at MachineTempMin. p must be valid.
func New(p Params, rnd Rand) *Model {
	return &Model{p: p, rnd: rnd, temp: p.MachineTempMin,
		slope: (p.MachinePressureMax - p.MachinePressureMin) / (p.MachineTempMax - p.MachineTempMin)}
}

// Reset puts the machine temperature back to MachineTempMin.
func (m *Model) Reset() { m.temp = m.p.MachineTempMin }

// Step advances the machine temperature by one message period.
func (m *Model) Step() {
	if m.temp > m.p.MachineTempMax {
		m.temp += m.rnd.Float64() - 0.5
	} else {
		m.temp += -0.25 + m.rnd.Float64()*1.5
	}
}

// Temperature is the current machine temperature.
func (m *Model) Temperature() float64 { return m.temp }

// Sample is the message body for the current state, created at now (kept in UTC).
func (m *Model) Sample(now time.Time) Body {
	return Body{
		Machine: Machine{Temperature: m.temp, Pressure: m.p.MachinePressureMin + (m.temp-m.p.MachineTempMin)*m.slope},
		Ambient: Ambient{
			Temperature: m.p.AmbientTemp + m.rnd.Float64() - 0.5,
			Humidity:    m.p.AmbientHumidity - 1 + m.rnd.IntN(3),
		},
		TimeCreated: now.UTC(),
	}
}
