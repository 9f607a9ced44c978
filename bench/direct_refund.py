"""The baseline B2 compares refunds with: the original service's way, a direct
read-modify-write of the order in the database, with no Kafka and no dataflow.

    python -m bench.direct_refund PORT MONGO_URI JWT_SECRET COLLECTION

``POST /api/order/{orderId}/refund-product`` with the same body and cookie token
as ours: the token checked (HS256, expiry required), then one guarded
``find_one_and_update`` on the order's first line (the bench's orders have one):
200 with the order, 409 when nothing is left to refund."""

from __future__ import annotations

import sys

import jwt
from aiohttp import web
from pymongo import AsyncMongoClient, ReturnDocument

UNITS = 10  # each bench order's line


async def refund(request: web.Request) -> web.Response:
    try:
        claims = jwt.decode(
            request.cookies.get("token", ""),
            request.app["secret"],
            algorithms=["HS256"],
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError:
        return web.json_response({"title": "unauthorized"}, status=401)
    body = await request.json()
    quantity = int(body["quantity"])
    order = await request.app["orders"].find_one_and_update(
        {
            "_id": request.match_info["orderId"],
            "userId": claims["userId"],
            "products.0.productId": body["productId"],
            "products.0.refundedQuantity": {"$lte": UNITS - quantity},
        },
        {"$inc": {"products.0.refundedQuantity": quantity, "version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if order is None:
        return web.json_response({"title": "nothing left to refund"}, status=409)
    return web.json_response({"orderId": order["_id"], "version": order["version"]})


def app(mongo_uri: str, secret: str, collection: str) -> web.Application:
    application = web.Application()
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri)
    application["secret"] = secret
    application["orders"] = client.get_default_database()[collection]
    application.router.add_post("/api/order/{orderId}/refund-product", refund)

    async def close(_app: web.Application) -> None:
        await client.close()

    application.on_cleanup.append(close)
    return application


if __name__ == "__main__":
    port, mongo_uri, secret, collection = sys.argv[1:5]
    web.run_app(app(mongo_uri, secret, collection), host="127.0.0.1", port=int(port), access_log=None, print=None)
