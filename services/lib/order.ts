// The order as the schema defines it, and the business rules a decoded order
// must meet before it is processed.
import { ValidationError } from './errors.ts';

export interface Order {
  orderId: string;
  product: string;
  price: number;
}

export const MAX_PRICE = 1_000_000;
/** A product name is a key in the aggregate (one order-stats record per product): bounded like orderId. */
export const MAX_PRODUCT_CHARS = 200;

/** Prices are money: the aggregate counts whole cents, so sums stay exact. */
export function toCents(price: number): number {
  return Math.round(price * 100);
}

export function validateOrder(value: Record<string, unknown>): Order {
  const { orderId, product, price } = value;
  if (typeof orderId !== 'string' || orderId.trim() === '') throw new ValidationError('orderId is empty');
  if (orderId.length > 128) throw new ValidationError(`orderId is ${orderId.length} characters; at most 128`);
  if (typeof product !== 'string' || product.trim() === '') throw new ValidationError('product is empty');
  if (product.length > MAX_PRODUCT_CHARS) {
    throw new ValidationError(`product is ${product.length} characters; at most ${MAX_PRODUCT_CHARS}`);
  }
  if (typeof price !== 'number' || !Number.isFinite(price))
    throw new ValidationError(`price ${String(price)} is not a finite number`);
  if (price <= 0) throw new ValidationError(`price ${price} is not positive`);
  if (price > MAX_PRICE) throw new ValidationError(`price ${price} is above the maximum of ${MAX_PRICE}`);
  return { orderId, product, price };
}
