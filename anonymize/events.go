package anonymize

import (
	"encoding/json"
	"unicode"
)

// eventKeys are the data keys an anonymized event keeps, by event type,
// besides "path"; an event type not listed keeps none, not even its path.
var eventKeys = map[string][]string{
	"scroll_depth": {"depth"},
	"bounce":       {"dwell", "trigger"},
	"session_end":  {"dwell_s"},
	"web_vital":    {"metric", "value", "rating"},
	"click":        {"tag"},
	"ad_click":     {"tag"},
	"hover":        {"tag"},
	"form_focus":   {"tag", "input_type", "field_name", "form_id", "form_name"},
	"form_blur":    {"tag", "input_type", "field_name", "form_id", "form_name", "value", "value_length"},
	"form_submit":  {"method", "id", "name", "label"},
	"outbound":     {"host"},
	"download":     {"ext"},
}

// EventData keeps the keys of eventKeys from an event's data (a JSON
// object), maps "path" like a view's path and scrambles a form_blur
// "value" (FormValue). Data that is not a JSON object becomes "{}"; ""
// (no data) stays "".
func (d *Day) EventData(eventType, data string) string {
	if data == "" {
		return ""
	}
	keys, ok := eventKeys[eventType]
	if !ok {
		return "{}"
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &in); err != nil || in == nil {
		return "{}"
	}
	out := make(map[string]json.RawMessage, len(keys)+1)
	if p, ok := in["path"]; ok {
		out["path"] = d.mapString(p, d.Path)
	}
	for _, k := range keys {
		v, ok := in[k]
		if !ok {
			continue
		}
		if k == "value" && eventType == "form_blur" {
			v = d.mapString(v, d.FormValue)
		}
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// mapString applies fn to a JSON string; any other JSON value becomes null,
// so nothing unmapped slips through under a mapped key.
func (d *Day) mapString(raw json.RawMessage, fn func(string) string) json.RawMessage {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(fn(s))
	return b
}

func isUpper(r rune) bool  { return unicode.IsUpper(r) }
func isLetter(r rune) bool { return unicode.IsLetter(r) }
