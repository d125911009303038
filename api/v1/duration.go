package v1

import (
	"encoding/json"
	"time"
)

// Duration is decoration's timeout and grace_period: Prow reads either a duration string ("2h")
// or a whole number of nanoseconds, and writes the string. metav1.Duration reads only the string,
// so a Prow config or ProwJob with a number would not load.
// +kubebuilder:validation:Type=string
type Duration struct {
	time.Duration `json:"-"`
}

// UnmarshalJSON reads a number of nanoseconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &d.Duration); err == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = parsed
	return nil
}

// MarshalJSON writes the duration string, as Prow does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }
