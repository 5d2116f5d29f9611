// Storefront behaviour, no build step: VAT number feedback at checkout, and order cards that
// follow their invoices' states until every document is settled.
(function () {
  "use strict";

  function vatFeedback(form) {
    var input = form.querySelector("#id_vat_number");
    var country = form.querySelector("#id_country");
    var output = document.getElementById("vat-feedback");
    if (!input || !country || !output) return;
    var url = form.getAttribute("data-vat-check-url");
    var timer = null;
    var latest = 0;

    function show(state, message) {
      output.setAttribute("data-state", state);
      output.textContent = message;
    }

    function check(withVies) {
      var number = input.value.trim();
      if (!number || !country.value) {
        show("", "");
        return;
      }
      var asked = ++latest;
      var query = "?country=" + encodeURIComponent(country.value) +
        "&vat_number=" + encodeURIComponent(number) + (withVies ? "&vies=1" : "");
      if (withVies) show("checking", "Checking with the EU VIES register…");
      fetch(url + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (asked !== latest) return; // an answer to an older value
          if (body.valid === false) show("invalid", body.message);
          else if (body.vies === "invalid") show("invalid", body.message);
          else if (body.vies === "unavailable") show("unavailable", body.message);
          else show("valid", body.message);
        })
        .catch(function () { show("", ""); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { check(false); }, 300);
    });
    input.addEventListener("change", function () { clearTimeout(timer); check(true); });
    country.addEventListener("change", function () { check(true); });
  }

  function documentNode(doc) {
    var node = document.createElement("p");
    node.className = "document document--" + doc.state;
    node.setAttribute("data-testid", doc.testid);
    node.setAttribute("data-document-id", doc.id);
    node.setAttribute("data-state", doc.state);
    var status = document.createElement("span");
    status.setAttribute("data-testid", doc.testid + "-status");
    status.textContent = doc.label;
    node.appendChild(status);
    if (doc.number) {
      var number = document.createElement("span");
      number.setAttribute("data-testid", doc.testid + "-number");
      number.textContent = doc.number;
      node.appendChild(number);
      var link = document.createElement("a");
      link.href = doc.pdf_url;
      link.setAttribute("data-testid", doc.testid + "-pdf");
      link.textContent = "Download PDF";
      node.appendChild(link);
      var eInvoice = document.createElement("a");
      eInvoice.href = doc.e_invoice_url;
      eInvoice.setAttribute("data-testid", doc.testid + "-e-invoice");
      eInvoice.textContent = "E-invoice (XML)";
      node.appendChild(document.createTextNode(" "));
      node.appendChild(eInvoice);
    }
    return node;
  }

  function updateCard(container, order) {
    var card = container.querySelector('[data-testid="order-card"][data-order-id="' + order.id + '"]');
    if (!card) return;
    card.querySelector('[data-testid="order-status"]').textContent = order.status_label;
    var documents = card.querySelector('[data-testid="documents"]');
    var nodes = [];
    if (order.no_invoice) {
      var none = document.createElement("p");
      none.className = "document document--none";
      none.setAttribute("data-testid", "invoice-status");
      none.setAttribute("data-state", "none");
      none.textContent = order.no_invoice;
      nodes.push(none);
    }
    order.documents.forEach(function (doc) { nodes.push(documentNode(doc)); });
    documents.replaceChildren.apply(documents, nodes);
  }

  function pollOrders(container) {
    var url = container.getAttribute("data-poll-url");
    if (!url || container.getAttribute("data-settled") === "true") return;
    var failures = 0;
    var timer = setInterval(function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("poll " + response.status);
          return response.json();
        })
        .then(function (body) {
          failures = 0;
          body.orders.forEach(function (order) { updateCard(container, order); });
          if (body.settled) {
            clearInterval(timer);
            container.setAttribute("data-settled", "true");
          }
        })
        .catch(function () {
          // A reload shows the latest state; stop asking a server that keeps failing.
          if (++failures >= 5) clearInterval(timer);
        });
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector('[data-testid="checkout-form"]');
    if (form) vatFeedback(form);
    var cards = document.getElementById("order-cards");
    if (cards) pollOrders(cards);
  });
})();
