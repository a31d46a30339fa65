-- Seed data (every tenant's database starts with it).
INSERT INTO users (id, name, email) VALUES
  (1, 'Ada Lovelace', 'ada@example.com'),
  (2, 'Alan Turing', 'alan@example.com');

-- 25 posts by user 1: "Post 1".."Post 25"; 1..20 published, 21..25 drafts.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
INSERT INTO posts (id, user_id, title, content, published)
SELECT i, 1, 'Post ' || i, 'Content of post ' || i, CASE WHEN i <= 20 THEN 1 ELSE 0 END FROM n;

INSERT INTO comments (post_id, body) VALUES
  (1, 'First!'),
  (1, 'Nice post.'),
  (2, 'Thanks for writing this.');

INSERT INTO products (id, name, price_cents, stock) VALUES
  (1, 'Widget', 500, 3),
  (2, 'Gadget', 1500, 0);
