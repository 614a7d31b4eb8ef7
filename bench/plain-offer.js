// The bench's peer: fetch the purchase's offers from the proxy and show the first one with a
// button, as little code as possible. Sets the same performance mark as the widget.
const paymentId = new URLSearchParams(location.search).get("payment_id");
const response = await fetch(`/v1/offers?payment_id=${encodeURIComponent(paymentId)}`);
const { offers } = await response.json();
const offer = offers[0];
if (offer) {
  const item = offer.items[0];
  const price = new Intl.NumberFormat(document.documentElement.lang, {
    style: "currency",
    currency: item.price.currency,
  }).format(item.price.amount / 100);
  const card = document.createElement("article");
  const title = document.createElement("h2");
  title.textContent = item.title;
  const description = document.createElement("p");
  description.textContent = item.description ?? "";
  const button = document.createElement("button");
  button.textContent = `Add to my order for ${price}`;
  button.addEventListener("click", async () => {
    button.disabled = true;
    await fetch("/v1/offers/accept", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: item.token, idempotency_key: crypto.randomUUID(), quantity: 1 }),
    });
  });
  card.append(title, description, button);
  document.getElementById("offer").append(card);
  performance.mark("dodo-upsell:offer-visible");
}
