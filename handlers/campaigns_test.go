package handlers

import (
	"net/http"
	"strings"
	"testing"
)

func TestCampaigns_CreateListPatchDelete(t *testing.T) {
	c := &Campaigns{Store: openStore(t), Now: fixedClock(listsT0)}
	if l := call(t, c.ServeCollection, "GET", "/", "").list(t); len(l) != 0 {
		t.Fatalf("empty registry: %v", l)
	}
	var created map[string]string
	call(t, c.ServeCollection, "POST", "/", `{"id":"spring","name":"Spring\u0001 sale","utm_campaign":"spring-sale","site_id":"bad site"}`).
		wantJSON(t, http.StatusCreated, &created)
	if created["created"] != "spring" || len(created) != 1 {
		t.Fatalf("created %v", created)
	}
	l := call(t, c.ServeCollection, "GET", "/", "").list(t)
	if len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	wantKeys(t, "campaign", l[0], "id", "name", "utm_campaign", "site_id", "status", "created_at")
	if row := l[0].(map[string]any); row["name"] != "Spring sale" || row["site_id"] != "default" || row["status"] != "active" {
		t.Errorf("control bytes cut and the invalid site made default: %v", row)
	}

	call(t, c.ServeCollection, "POST", "/", `{"id":"spring","name":"Again","utm_campaign":"x"}`).
		wantError(t, 409, "conflict", "A campaign with this id or utm_campaign and site_id exists")

	var reply map[string]string
	call(t, c.ServeItem, "PATCH", "/", `{"status":"paused"}`, "spring").wantJSON(t, 200, &reply)
	if reply["updated"] != "spring" {
		t.Errorf("patch %v", reply)
	}
	call(t, c.ServeItem, "DELETE", "/", "", "spring").wantJSON(t, 200, &reply)
	if reply["deleted"] != "spring" {
		t.Errorf("delete %v", reply)
	}
	call(t, c.ServeItem, "DELETE", "/", "", "spring").wantError(t, 404, "not_found", "Campaign not found")
	call(t, c.ServeItem, "PATCH", "/", `{"status":"active"}`, "spring").wantError(t, 404, "not_found", "Campaign not found")
}

func TestCampaigns_BadBodies(t *testing.T) {
	c := &Campaigns{Store: openStore(t), Now: fixedClock(listsT0)}
	for _, tc := range []struct {
		body, code, message string
	}{
		{``, "invalid_payload", "Body must be a JSON object"},
		{`[1]`, "invalid_payload", "Body must be a JSON object"},
		{`null`, "invalid_payload", "Body must be a JSON object"},
		{`{"id":"a","name":"b"}`, "invalid_payload", "Missing required fields: id, name, utm_campaign"},
		{`{"id":"a b","name":"b","utm_campaign":"c"}`, "invalid_id", "id must be at most 128 characters of A-Z a-z 0-9 . _ -"},
		{`{"id":"` + strings.Repeat("a", 129) + `","name":"b","utm_campaign":"c"}`, "invalid_id", "id must be at most 128 characters of A-Z a-z 0-9 . _ -"},
		{`{"id":"a","name":"` + strings.Repeat("x", 70<<10) + `","utm_campaign":"c"}`, "invalid_payload", "Body must be a JSON object"},
	} {
		call(t, c.ServeCollection, "POST", "/", tc.body).wantError(t, 400, tc.code, tc.message)
	}
	call(t, c.ServeItem, "PATCH", "/", `{"status":"gone"}`, "x").
		wantError(t, 400, "invalid_payload", "status must be one of active, paused, archived")
	call(t, c.ServeItem, "PATCH", "/", `nope`, "x").wantError(t, 400, "invalid_payload", "Body must be a JSON object")
}

func TestCampaigns_FailingStoreIs500(t *testing.T) {
	c := &Campaigns{Store: closedStore(t), Now: fixedClock(listsT0)}
	call(t, c.ServeCollection, "GET", "/", "").wantError(t, 500, "internal", "")
	call(t, c.ServeCollection, "POST", "/", `{"id":"a","name":"b","utm_campaign":"c"}`).wantError(t, 500, "internal", "")
	call(t, c.ServeItem, "DELETE", "/", "", "a").wantError(t, 500, "internal", "")
}
