-- What the guide's /comments and /orders pages need (applied after 001 and 002; every
-- existing row is kept). SQLite cannot change a column's constraints in place, so the
-- two tables are rebuilt the way its docs say: rename, create, copy, drop.

-- comments: who wrote each one, and when (the guide's comments page shows both).
-- ALTER TABLE ADD COLUMN cannot add a CURRENT_TIMESTAMP default, hence the rebuild.
ALTER TABLE comments RENAME TO comments_v1;
CREATE TABLE comments (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  body TEXT NOT NULL,
  author_name TEXT NOT NULL DEFAULT 'Anonymous',
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO comments (id, post_id, body) SELECT id, post_id, body FROM comments_v1;
DROP TABLE comments_v1;
CREATE INDEX comments_post_id ON comments(post_id);

-- orders: one order of several products, as the guide's checkout writes it: the order
-- (customer, total, status) and its order_items (product, quantity, unit price). 001's
-- orders had one product each: each becomes an order with one item.
ALTER TABLE orders RENAME TO orders_v1;
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL, -- the customer; null: none given (/checkout)
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'cancelled')),
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE order_items (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0), -- the unit price when ordered
  UNIQUE (order_id, product_id)
);
INSERT INTO orders (id, total_cents, created_at) SELECT id, total_cents, created_at FROM orders_v1;
INSERT INTO order_items (order_id, product_id, quantity, price_cents)
  SELECT id, product_id, quantity, total_cents / quantity FROM orders_v1;
DROP TABLE orders_v1;
CREATE INDEX orders_user_id ON orders(user_id);
CREATE INDEX order_items_product_id ON order_items(product_id);
