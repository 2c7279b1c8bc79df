// Reads an iCalendar file on standard input with ical.js and prints what it understood as JSON.
// ical.js has no time zone database of its own: it can only place a TZID'd time by the
// VTIMEZONE in the file, so this checks the feed's own Europe/London rules.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const calendar = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const text = (component, name) => {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : value.toString();
};

const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: text(vevent, "status"),
    summary: event.summary,
    location: event.location,
    description: event.description,
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    start_local: event.startDate.toString(),
    end_local: event.endDate.toString(),
    start_utc: event.startDate.toJSDate().toISOString(),
    end_utc: event.endDate.toJSDate().toISOString(),
    alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
      action: text(alarm, "action"),
      trigger: text(alarm, "trigger"),
    })),
  };
});

const refresh = calendar.getFirstProperty("refresh-interval");
process.stdout.write(JSON.stringify({
  method: text(calendar, "method"),
  uid: text(calendar, "uid"),
  name: text(calendar, "x-wr-calname"),
  refresh_interval: refresh ? refresh.getFirstValue().toString() : null,
  refresh_interval_type: refresh ? refresh.type : null,
  events,
}));
