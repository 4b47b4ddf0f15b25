// The alerts firing now (GET /alerts), as a banner above the cards: one
// element per alert (class "alert", data-alertname, and data-failure-class
// when the alert is about one failure class). Such an alert is a link to the
// dashboard filtered to its class (/?failureClass=…); a plain click sets the
// filter in place (`onPick`) instead of loading the page again. The banner
// is rebuilt only when the alerts change, so a poll never swaps a link from
// under the pointer.
let shown;

function alertElement(alert, onPick) {
  const failureClass = alert.dlqFilter?.failureClass;
  const element = document.createElement(failureClass === undefined ? 'span' : 'a');
  element.className = 'alert';
  element.dataset.alertname = alert.name;
  if (alert.severity !== null) element.dataset.severity = alert.severity;
  const name = document.createElement('strong');
  name.textContent = alert.name;
  element.append(name, ` ${alert.summary ?? alert.description ?? ''}`);
  if (alert.description !== null) element.title = alert.description;
  if (failureClass !== undefined) {
    element.dataset.failureClass = failureClass;
    element.href = `/?${new URLSearchParams({ failureClass })}`;
    element.addEventListener('click', (event) => {
      // A click that opens a tab or a window keeps the link's own behavior.
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      onPick({ failureClass });
    });
  }
  return element;
}

export function renderAlerts(alerts, onPick) {
  const json = JSON.stringify(alerts);
  if (json === shown) return;
  shown = json;
  const banner = document.getElementById('alert-banner');
  banner.replaceChildren(...alerts.map((alert) => alertElement(alert, onPick)));
  banner.hidden = alerts.length === 0;
}
